import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT, sourceFile } from './paths.js';

/** The Lambda runtime of every function: the current Node.js LTS (Node.js 20 is past end of life, 22 in maintenance). */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;
/** esbuild's target for that runtime. */
const ESBUILD_TARGET = 'node24';

export interface BundledFunctionProps {
  /** The entry file, from the project root (`lambda/receipt.ts`). */
  readonly entry: string;
  readonly description: string;
  /** What the role is for, in IAM's description. */
  readonly roleDescription: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** Files to add to the bundle after esbuild: [source path, name in the bundle]. @default none */
  readonly extraFiles?: ReadonlyArray<readonly [string, string]>;
  /** Leave the AWS SDK out of the bundle (a function that runs once per deployment). @default false */
  readonly sdkFromRuntime?: boolean;
}

/**
 * One of ses-bouncer's functions: bundled with the local esbuild (no Docker), Node.js 24 on
 * arm64, its own log group with a set retention, and its own role that may write only to that
 * log group (no managed policies); the caller adds exactly the grants the function's calls need.
 */
export class BundledFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.roleDescription });
    this.logGroup.grantWrite(this.role);
    const extra = props.extraFiles ?? [];
    const bundling = handlerBundling();
    this.function = new NodejsFunction(this, 'Function', {
      entry: sourceFile(props.entry),
      handler: 'handler',
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: sourceFile('package-lock.json'),
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
      bundling: {
        ...bundling,
        ...(props.sdkFromRuntime && { externalModules: ['@aws-sdk/*'] }),
        ...(extra.length > 0 && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) => extra.map(([from, name]) => copyCommand(from, `${outputDir}/${name}`)),
          },
        }),
      },
    });
  }
}

/**
 * Bundling shared by every function (and the cold-start benchmark): local esbuild (no Docker),
 * CJS, minified, the AWS SDK bundled (docs/decisions.md: measured smaller init and pinned
 * versions), and `module` before `main` so esbuild takes the SDK's ES builds and tree-shakes
 * them. The source map ships without sources, for mapping a stack offline; it is not enabled at
 * run time (`--enable-source-maps` parses it at every cold start: +25–60 ms, measured).
 */
export function handlerBundling(): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.CJS,
    target: ESBUILD_TARGET,
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    externalModules: [],
  };
}

function copyCommand(from: string, to: string): string {
  return process.platform === 'win32' ? `copy /Y "${from}" "${to}"` : `cp '${from.replace(/'/g, "'\\''")}' '${to.replace(/'/g, "'\\''")}'`;
}
