import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';

export interface Synthesized {
  readonly assembly: CloudAssembly;
  readonly template: Template;
  readonly json: { Resources: Record<string, { Type: string; Properties?: any; DependsOn?: string[] }> };
}

export function tempOutdir(): string {
  return mkdtempSync(join(tmpdir(), 'ses-bouncer-cdk-'));
}

/** Synthesizes the app once (bundling, cdk-nag) and reads the stack's template back. */
export function synthesize(app: App, stack: Stack): Synthesized {
  const assembly = app.synth();
  const json = JSON.parse(readFileSync(assembly.getStackArtifact(stack.artifactId).templateFullPath, 'utf8'));
  return { assembly, template: Template.fromJSON(json), json };
}

/** Logical ids of the resources of a type. */
export function logicalIds(json: Synthesized['json'], type: string): string[] {
  return Object.entries(json.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id]) => id);
}

/** Every IAM statement of the template: policies and roles' inline policies. */
export function iamStatements(json: Synthesized['json']): Array<{ owner: string; Action: string | string[]; Resource: unknown; Effect: string }> {
  const out = [];
  for (const [id, resource] of Object.entries(json.Resources)) {
    const documents =
      resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
        ? [resource.Properties.PolicyDocument]
        : resource.Type === 'AWS::IAM::Role'
          ? (resource.Properties.Policies ?? []).map((p: any) => p.PolicyDocument)
          : [];
    for (const document of documents) for (const statement of document.Statement) out.push({ owner: id, ...statement });
  }
  return out;
}

export function actions(statement: { Action: string | string[] }): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** A receipt rule of a template, as SES runs it. */
export interface ReceiptRuleView {
  readonly id: string;
  readonly name: string;
  readonly recipients: string[];
  readonly actions: any[];
}

/** The rules as SES gets them, in rule-set order: the first has no After (or another rule's name), each next one names the one before. */
export function rulesInOrder(template: Template): ReceiptRuleView[] {
  const rules = Object.entries(template.findResources('AWS::SES::ReceiptRule')).map(([id, resource]: [string, any]) => ({
    id,
    name: resource.Properties.Rule.Name as string,
    after: resource.Properties.After as { Ref?: string } | string | undefined,
    recipients: resource.Properties.Rule.Recipients as string[],
    actions: resource.Properties.Rule.Actions as any[],
  }));
  const ordered = rules.filter((rule) => typeof rule.after !== 'object');
  if (ordered.length !== 1) throw new Error(`expected one first rule, found ${ordered.length}`);
  for (let next = rules.find((r) => typeof r.after === 'object' && r.after.Ref === ordered.at(-1)!.id); next; next = rules.find((r) => typeof r.after === 'object' && r.after.Ref === ordered.at(-1)!.id)) {
    ordered.push(next);
  }
  if (ordered.length !== rules.length) throw new Error(`the rules do not form one chain: ${ordered.length} of ${rules.length} in order`);
  return ordered;
}

