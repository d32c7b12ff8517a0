import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerBundleDir, LAMBDA_RUNTIME, type HandlerName } from './handlers.js';

/** The Lambda runtime of every function (lib/handlers.ts LAMBDA_RUNTIME, which the bundles are built for). */
export const RUNTIME = new lambda.Runtime(LAMBDA_RUNTIME, lambda.RuntimeFamily.NODEJS, { supportsInlineCode: true });

export interface BundledFunctionProps {
  /** The prebuilt handler (lib/handlers.ts). */
  readonly handler: HandlerName;
  readonly description: string;
  /** What the role is for, in IAM's description. */
  readonly roleDescription: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** @default no environment variables */
  readonly environment?: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** Files added beside the bundle, by name, with their content (the receipt function's `policy.json`). @default none */
  readonly files?: Readonly<Record<string, string>>;
}

/**
 * One of ses-bouncer's functions: its prebuilt bundle (no esbuild, no Docker at synth), Node.js 24
 * on arm64, its own log group with a set retention, and its own role that may write only to that
 * log group (no managed policies); the caller adds exactly the grants the function's calls need.
 */
export class BundledFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.roleDescription });
    this.logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, 'Function', {
      code: handlerCode(handlerBundleDir(props.handler), props.files ?? {}),
      handler: 'index.handler',
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
    });
  }
}

/**
 * The bundle as the function's asset; with files, the bundle and the files staged by CDK into the
 * cloud assembly (a local "bundling" that copies, never Docker), under a hash of their content:
 * the same bundle and files make the same asset, any change a new one. Everything is written from
 * memory into the assembly's own staging directory, which CDK renames into place: no shared file
 * outside the assembly that a concurrent synth could rewrite.
 */
function handlerCode(bundleDir: string, files: Readonly<Record<string, string>>): lambda.Code {
  const names = Object.keys(files).sort();
  if (names.length === 0) return lambda.Code.fromAsset(bundleDir);
  const bundleFiles = readdirSync(bundleDir).sort();
  const clash = names.find((name) => bundleFiles.includes(name) || name !== name.replace(/[/\\]/g, '') || name === '.' || name === '..');
  if (clash !== undefined) throw new Error(`BundledFunction files: ${JSON.stringify(clash)} must be a plain file name not in the bundle`);
  const hash = createHash('sha256');
  for (const name of bundleFiles) hash.update(name).update('\0').update(readFileSync(join(bundleDir, name))).update('\0');
  for (const name of names) hash.update(name).update('\0').update(files[name]!).update('\0');
  return lambda.Code.fromAsset(bundleDir, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: hash.digest('hex'),
    bundling: {
      // Never used: tryBundle always succeeds. CDK requires an image for bundling options.
      image: DockerImage.fromRegistry('ses-bouncer-needs-no-docker'),
      local: {
        tryBundle(outputDir: string): boolean {
          for (const name of bundleFiles) copyFileSync(join(bundleDir, name), join(outputDir, name));
          for (const name of names) writeFileSync(join(outputDir, name), files[name]!);
          return true;
        },
      },
    },
  });
}
