// The package as a user gets it: `npm pack`, installed into a fresh TypeScript CDK app in a
// temporary folder (its dependencies from the npm registry), type-checked against the shipped
// declarations, and synthesized with a policy of its own. No esbuild, no Docker and none of this
// repository's sources take part: the handlers are the prebuilt ones in the package.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { HANDLER_ENTRIES } from '../../lib/handlers.js';

const ROOT = process.cwd();
const repo = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const installed = (name: string): string => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The README's example ("Use in your own CDK app"), its policy and its code as they stand: the test synthesizes exactly those. */
const POLICY = /<!-- example:consumer-policy -->\s*```yaml\n([\s\S]*?)```/.exec(README)![1]!;
const APP = /<!-- example:consumer-app -->\s*```ts\n([\s\S]*?)```/.exec(README)![1]!;

describe('npm install ses-bouncer, in a CDK app of its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ses-bouncer-consumer-'));
  const app = join(dir, 'app');
  let shipped: string[];
  let template: { Resources: Record<string, { Type: string; Properties?: any; DependsOn?: string[] }> };

  beforeAll(() => {
    // The package as `npm pack` and `npm publish` make it: a copy of the repository's files (so
    // that the other test files, which read dist/handlers, never see a build half written), its
    // prepare script (`npm run build`) run by `npm pack` itself, with this repository's tools.
    const staging = join(dir, 'staging');
    // Files only: a symlinked node_modules (a worktree sharing one) is not matched by .gitignore's `node_modules/`.
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && existsSync(join(ROOT, f)) && lstatSync(join(ROOT, f)).isFile());
    for (const file of files) {
      mkdirSync(dirname(join(staging, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(staging, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(staging, 'node_modules'));
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: staging, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    shipped = (packed[0].files as { path: string }[]).map((f) => f.path).sort();
    const tarball = join(dir, packed[0].filename);
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { 'ses-bouncer': `file:${tarball}`, 'aws-cdk-lib': installed('aws-cdk-lib'), constructs: installed('constructs') },
        devDependencies: { '@types/node': installed('@types/node') },
      }),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
            // Strict, and every declaration checked (no skipLibCheck): ours must stand on their own.
      // aws-cdk-lib's need ESNext.Disposable.
      JSON.stringify({
        compilerOptions: { target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
        files: ['app.ts'],
      }),
    );
    writeFileSync(join(app, 'app.ts'), APP);
    writeFileSync(join(app, 'policy.yaml'), POLICY);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'], { cwd: app, stdio: 'inherit' });
    // Type-checked against the shipped declarations, with this repository's TypeScript (the app's own dependencies are its).
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, stdio: 'inherit' });
    // As the CDK CLI runs an app: CDK_OUTDIR set, and the App synthesizes when the process ends.
    execFileSync(process.execPath, ['out/app.js'], { cwd: app, stdio: 'inherit', env: { ...process.env, CDK_OUTDIR: join(app, 'cdk.out') } });
    template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Mail.template.json'), 'utf8'));
  }, 600_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const resources = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  it('ships the construct API, the CLI, the prebuilt handlers, the schema and the licence, and no sources, tests or build tools', () => {
    const pkg = join(app, 'node_modules', 'ses-bouncer');
    for (const name of Object.keys(HANDLER_ENTRIES)) expect(shipped).toContain(`dist/handlers/${name}/index.js`);
    for (const file of ['dist/lib/index.d.ts', 'dist/bin/ses-bouncer.js', 'policy.schema.json', 'CHANGELOG.md', 'LICENSE', 'README.md']) expect(shipped).toContain(file);
    expect(readdirSync(pkg).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json', 'policy.schema.json']);
    expect(shipped.filter((f) => /\.(ts|tsx)$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    // The user's synth needed neither esbuild nor the CDK's Node.js bundling.
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).peerDependencies).toMatchObject({ 'aws-cdk-lib': repo.peerDependencies['aws-cdk-lib'], constructs: repo.peerDependencies.constructs });
    // The README names the peer ranges it was tested with.
    const cdk = /^\^(\d+\.\d+)\.\d+$/.exec(repo.peerDependencies['aws-cdk-lib'])![1]!;
    const constructs = /^\^(\d+)\./.exec(repo.peerDependencies.constructs)![1]!;
    expect(README).toContain(`\`aws-cdk-lib\` (${cdk} or later) and \`constructs\` (${constructs}) are peer dependencies`);
  });

  it('ships exactly the modules the package root, the CLI and the handlers reach, each with its declarations where the API names them', () => {
    const modules = shipped.filter((f) => f.startsWith('dist/') && f.endsWith('.js') && !f.startsWith('dist/handlers/'));
    const reached = reachable(join(app, 'node_modules', 'ses-bouncer'), ['dist/lib/index.js', 'dist/bin/ses-bouncer.js'], '.js');
    expect(modules).toEqual(reached);
    // Every declaration the API reaches is shipped (reachable throws otherwise), and none without its module.
    const pkg = join(app, 'node_modules', 'ses-bouncer');
    expect(reachable(pkg, ['dist/lib/index.d.ts'], '.d.ts').every((f) => shipped.includes(f))).toBe(true);
    expect(shipped.filter((f) => f.endsWith('.d.ts') && !shipped.includes(f.replace(/\.d\.ts$/, '.js')))).toEqual([]);
    // The CommonJS entry: one bundle that requires only Node.js and the packages the user installs with it; its declarations mirror the ES ones.
    expect(shipped).toContain('dist/lib/index.cjs');
    const required = [...readFileSync(join(pkg, 'dist', 'lib', 'index.cjs'), 'utf8').matchAll(/\brequire\((['"])([^'"]+)\1\)/g)].map((m) => m[2]!);
    const packages = new Set([...Object.keys(repo.dependencies), ...Object.keys(repo.peerDependencies)]);
    expect(required.filter((name) => !name.startsWith('node:') && !packages.has(name.split('/').slice(0, name.startsWith('@') ? 2 : 1).join('/')))).toEqual([]);
    // The API's declarations name only the packages a user installs with it: no dependency's types (zod's) in the user's compile.
    const named = new Set(reachable(pkg, ['dist/lib/index.d.ts'], '.d.ts').flatMap((f) => [...readFileSync(join(pkg, f), 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)(['"])([^'".][^'"]*)\1/g)].map((m) => m[2]!.split('/')[0]!)));
    expect([...named].filter((name) => !name.startsWith('node:')).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    const cjsDeclarations = reachable(pkg, ['dist/lib/index.d.cts'], '.d.cts');
    expect(cjsDeclarations.map((f) => f.replace(/\.d\.cts$/, '.d.ts'))).toEqual(reachable(pkg, ['dist/lib/index.d.ts'], '.d.ts'));
    expect(shipped.filter((f) => f.endsWith('.d.cts'))).toEqual(cjsDeclarations);
    // Maps only for the handlers (a stack trace from Lambda maps offline); tsc's would point at sources not shipped.
    expect(shipped.filter((f) => f.endsWith('.map') && !f.startsWith('dist/handlers/'))).toEqual([]);
    expect(shipped.filter((f) => f.endsWith('.js')).filter((f) => !f.startsWith('dist/handlers/') && readFileSync(join(app, 'node_modules', 'ses-bouncer', f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  it('exports every type its API names: no declaration a user can meet but not import', () => {
    const pkgDist = join(app, 'node_modules', 'ses-bouncer', 'dist');
    expect(forgottenExports(join(pkgDist, 'lib', 'index.d.ts'), pkgDist)).toEqual([]);
    expect(forgottenExports(join(pkgDist, 'lib', 'index.d.cts'), pkgDist)).toEqual([]);
  });

  it("synthesizes the user's policy: accept compiled into the rule, in the user's existing rule set, before the user's archive rule", () => {
    const rules = resources('AWS::SES::ReceiptRule');
    const bouncerRule = rules.find(([, r]) => r.Properties.Rule.Name === 'ses-bouncer')!;
    expect(bouncerRule[1].Properties).toMatchObject({ RuleSetName: 'inbound', Rule: { Recipients: ['alice@example.com', 'bob@example.com', '.lab.example.com'] } });
    const archiveRule = rules.find(([id]) => id.startsWith('ArchiveRule'))!;
    expect(archiveRule[1].Properties.After).toEqual({ Ref: bouncerRule[0] });
    expect(resources('AWS::SES::ReceiptRuleSet')).toEqual([]);
  });

  it('deploys the prebuilt handlers on nodejs24.x, the policy bundled beside the receipt handler', () => {
    const functions = resources('AWS::Lambda::Function').map(([, r]) => r.Properties);
    expect(functions.map((f) => f.Runtime)).toEqual(functions.map(() => 'nodejs24.x'));
    expect(functions.every((f) => f.Handler === 'index.handler')).toBe(true);
    const receipt = functions.find((f) => f.Environment?.Variables?.BOUNCE_QUEUE_URL && f.Environment.Variables.STOP_DISPOSITION)!;
    const asset = receipt.Code.S3Key.replace(/\.zip$/, '');
    const assetDir = join(app, 'cdk.out', `asset.${asset}`);
    expect(readdirSync(assetDir).sort()).toEqual(['index.js', 'index.js.map', 'policy.json']);
    expect(JSON.parse(readFileSync(join(assetDir, 'policy.json'), 'utf8')).accept).toEqual(['alice@example.com', 'bob@example.com', '*@*.lab.example.com']);
  });

  it('runs the CLI from the package: check as it is, replay naming the optional package it needs', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(app, 'node_modules', 'ses-bouncer', 'dist', 'bin', 'ses-bouncer.js'), ...args], { cwd: app, encoding: 'utf8' });
    const check = cli('check', 'policy.yaml');
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/^accept: 2 addresses, 0 domains, 1 subdomain pattern → 3 receipt rule recipients in 1 receipt rule/m);
    const replay = cli('replay', '--policy', 'policy.yaml', join(ROOT, 'examples', 'accept', 'events'));
    expect(replay.status).not.toBe(0);
    expect(replay.stderr).toContain('needs the dynalite package: npm install --save-dev dynalite');
    expect(replay.stderr).not.toMatch(/\n\s+at /);
  });

  it('loads in a CommonJS app too: require, TypeScript under module node16, and Jest without ESM support (a `cdk init` app\'s tests)', () => {
    writeFileSync(join(app, 'check.cjs'), "const { SesBouncer, MetricName } = require('ses-bouncer'); console.log(typeof SesBouncer, MetricName.Sent);\n");
    expect(execFileSync(process.execPath, ['check.cjs'], { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()).toBe('function Sent');
    // A CommonJS TypeScript file: TS1479 if the package had only ES declarations.
    writeFileSync(
      join(app, 'check.cts'),
      "import { SesBouncer, type SesBouncerProps } from 'ses-bouncer';\nimport { App, Stack } from 'aws-cdk-lib';\nconst props: SesBouncerProps = { policy: 'policy.yaml' };\nnew SesBouncer(new Stack(new App(), 'S'), 'B', props);\n",
    );
    writeFileSync(
      join(app, 'tsconfig.cjs.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'node16', moduleResolution: 'node16', strict: true, skipLibCheck: false, types: ['node'], noEmit: true }, files: ['check.cts'] }),
    );
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.cjs.json'], { cwd: app, stdio: 'inherit' });
    // Jest in CommonJS mode (no --experimental-vm-modules), as a CDK app's unit tests run it.
    writeFileSync(
      join(app, 'synth.test.cjs'),
      [
        "const { App, Stack } = require('aws-cdk-lib');",
        "const { Template } = require('aws-cdk-lib/assertions');",
        "const { SesBouncer } = require('ses-bouncer');",
        "test('synthesizes', () => {",
        "  const stack = new Stack(new App(), 'S');",
        "  new SesBouncer(stack, 'B', { policy: 'policy.yaml' });",
        "  Template.fromStack(stack).hasResourceProperties('AWS::SES::ReceiptRule', { Rule: { Recipients: ['alice@example.com', 'bob@example.com', '.lab.example.com'] } });",
        '});',
      ].join('\n'),
    );
    const jest = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--rootDir', app, '--testMatch', '**/synth.test.cjs'], { cwd: app, encoding: 'utf8' });
    expect(jest.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
    expect(jest.status).toBe(0);
  });

  it("sends the alarms to the user's existing topic", () => {
    const alarms = resources('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.length).toBeGreaterThan(5);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:111122223333:mail-ops']);
  });
});

/**
 * The files a package's entry points reach through relative imports (static, `export … from` and
 * `import('…')` with a literal), in the package as installed, sorted. `.d.ts` files import
 * `./x.js`, which is `./x.d.ts`; `.d.cts` files `./x.cjs`, which is `./x.d.cts`.
 */
function reachable(root: string, entries: string[], extension: '.js' | '.d.ts' | '.d.cts'): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g)) {
      let target = posix.normalize(posix.join(posix.dirname(file), match[2]!));
      if (extension === '.d.ts') target = target.replace(/\.js$/, '.d.ts');
      if (extension === '.d.cts') target = target.replace(/\.cjs$/, '.d.cts');
      if (!existsSync(join(root, target))) throw new Error(`${file} imports ${match[2]}, which the package does not ship`);
      visit(target);
    }
  };
  for (const entry of entries) visit(entry);
  return [...seen].sort();
}

/**
 * The package's own declarations that its exported API names (a prop's type, a property's,
 * a method's parameter) without exporting them, as `Name (file)`: what API Extractor calls a
 * forgotten export. Walks the declaration files from the entry's exports, through the types
 * they reference, stopping at other packages.
 */
function forgottenExports(entry: string, packageDir: string): string[] {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const real = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const ours = (symbol: ts.Symbol) => (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(packageDir));
  const exported = new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(real));
  const forgotten = new Set<string>();
  const seen = new Set<ts.Symbol>();
  const reference = (symbol: ts.Symbol | undefined): void => {
    if (symbol === undefined) return;
    const target = real(symbol);
    if (!ours(target) || seen.has(target)) return;
    // A member of an exported enum or namespace, a type parameter: reached through its owner.
    if (target.flags & (ts.SymbolFlags.EnumMember | ts.SymbolFlags.TypeParameter)) return;
    seen.add(target);
    if (!exported.has(target)) forgotten.add(`${target.name} (${relative(packageDir, target.declarations![0]!.getSourceFile().fileName)})`);
    for (const declaration of target.declarations ?? []) walk(declaration);
  };
  const walk = (node: ts.Node): void => {
    if (ts.isTypeReferenceNode(node)) reference(checker.getSymbolAtLocation(node.typeName));
    else if (ts.isExpressionWithTypeArguments(node)) reference(checker.getSymbolAtLocation(node.expression));
    else if (ts.isTypeQueryNode(node)) reference(checker.getSymbolAtLocation(node.exprName));
    else if (ts.isImportTypeNode(node)) reference(checker.getTypeFromTypeNode(node).aliasSymbol ?? checker.getTypeFromTypeNode(node).getSymbol());
    ts.forEachChild(node, walk);
  };
  for (const symbol of exported) {
    seen.add(symbol);
    for (const declaration of symbol.declarations ?? []) walk(declaration);
  }
  return [...forgotten].sort();
}
