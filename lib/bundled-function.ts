import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerBundleDir, type HandlerName } from './handlers.js';

/**
 * The Lambda runtime of every function: the current Node.js LTS (Node.js 20 is past end of life,
 * 22 in maintenance). The bundles are built for it (scripts/bundle-handlers.ts ESBUILD_TARGET).
 */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface BundledFunctionProps {
  /** The prebuilt handler (lib/handlers.ts). */
  readonly handler: HandlerName;
  readonly description: string;
  /** What the role is for, in IAM's description. */
  readonly roleDescription: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** Files added beside the bundle: [source path, name in the asset]. @default none */
  readonly extraFiles?: ReadonlyArray<readonly [string, string]>;
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
      code: lambda.Code.fromAsset(assetDir(handlerBundleDir(props.handler), props.extraFiles ?? [])),
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
 * The bundle's directory, or, with extra files (the receipt function's policy.json), a copy of it
 * with them, in a directory named by the content: the same inputs make the same asset.
 */
function assetDir(bundleDir: string, extraFiles: ReadonlyArray<readonly [string, string]>): string {
  if (extraFiles.length === 0) return bundleDir;
  const bundleFiles = readdirSync(bundleDir).sort();
  const hash = createHash('sha256');
  for (const name of bundleFiles) hash.update(name).update('\0').update(readFileSync(join(bundleDir, name))).update('\0');
  for (const [from, name] of extraFiles) hash.update(name).update('\0').update(readFileSync(from)).update('\0');
  const dir = join(tmpdir(), 'ses-bouncer-assets', hash.digest('hex').slice(0, 24));
  if (existsSync(dir)) return dir;
  // Written aside and renamed into place, so that a concurrent synth never sees half an asset.
  const partial = `${dir}.${process.pid}.${Date.now()}`;
  mkdirSync(partial, { recursive: true });
  for (const name of bundleFiles) copyFileSync(join(bundleDir, name), join(partial, name));
  for (const [from, name] of extraFiles) copyFileSync(from, join(partial, name));
  try {
    renameSync(partial, dir);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return dir;
}
