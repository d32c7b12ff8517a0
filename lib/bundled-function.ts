import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, Duration, RemovalPolicy, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerBundleDir, LAMBDA_RUNTIME, type HandlerName } from './handlers.js';

/** The Lambda runtime of every function (lib/handlers.ts LAMBDA_RUNTIME, which the bundles are built for). */
const RUNTIME = new lambda.Runtime(LAMBDA_RUNTIME, lambda.RuntimeFamily.NODEJS, { supportsInlineCode: true });

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
      code: handlerCode(this, handlerBundleDir(props.handler), props.files ?? {}),
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

/** Where, in the cloud assembly, functions' bundles are staged with their files. */
const STAGING_DIR = 'ses-bouncer-staging';

/**
 * The bundle as the function's asset; with files, a copy of the bundle with the files written
 * from memory beside it, staged in the cloud assembly's own directory under a hash of their
 * content (the same bundle and files make the same asset, any change a new one), then an asset
 * like any other. Not CDK's bundling: CDK skips bundling for stacks a command does not select
 * (`cdk ls`, `-e Other`) and would then record the bundle without the files under the real hash;
 * and it leaves its output world-writable. Nothing is written outside the assembly: no shared
 * file a concurrent synth could rewrite.
 */
function handlerCode(scope: Construct, bundleDir: string, files: Readonly<Record<string, string>>): lambda.Code {
  const names = Object.keys(files).sort();
  if (names.length === 0) return lambda.Code.fromAsset(bundleDir);
  const bundleFiles = readdirSync(bundleDir).sort();
  const clash = names.find((name) => bundleFiles.includes(name) || name !== name.replace(/[/\\]/g, '') || name === '.' || name === '..');
  if (clash !== undefined) throw new Error(`BundledFunction files: ${JSON.stringify(clash)} must be a plain file name not in the bundle`);
  const hash = createHash('sha256');
  for (const name of bundleFiles) hash.update(name).update('\0').update(readFileSync(join(bundleDir, name))).update('\0');
  for (const name of names) hash.update(name).update('\0').update(files[name]!).update('\0');
  const stage = Stage.of(scope);
  if (stage === undefined) throw new Error('BundledFunction: must be inside a CDK App or Stage (its cloud assembly holds the staged asset)');
  const stagingRoot = join(stage.outdir, STAGING_DIR);
  const digest = hash.digest('hex');
  const staged = join(stagingRoot, digest);
  if (!existsSync(staged)) {
    mkdirSync(stagingRoot, { recursive: true, mode: 0o755 });
    // Written aside and renamed into place: a concurrent synth into the same assembly sees all or nothing.
    const partial = mkdtempSync(join(stagingRoot, 'partial-'));
    for (const name of bundleFiles) copyFileSync(join(bundleDir, name), join(partial, name));
    for (const name of names) writeFileSync(join(partial, name), files[name]!, { mode: 0o644 });
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, staged);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(staged)) throw error;
    }
  }
  // The content is hashed already: CDK need not read it all again to fingerprint it.
  return lambda.Code.fromAsset(staged, { assetHashType: AssetHashType.CUSTOM, assetHash: digest });
}
