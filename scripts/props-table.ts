// The README's table of SesBouncer's props, made from their doc comments in lib/props.ts, so the
// two cannot drift: `npm run docs:props` rewrites the table in README.md, and a test fails when
// the committed one differs from what this makes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const TABLE_START = '<!-- props:start (generated from lib/props.ts by `npm run docs:props`) -->';
export const TABLE_END = '<!-- props:end -->';

export interface PropDoc {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  /** The comment's first sentence. */
  readonly summary: string;
  /** The @default tag, as written; undefined for a required prop. */
  readonly defaultValue: string | undefined;
}

/** Every prop of `interfaceName`, in declaration order, with its doc comment. */
export function propDocs(file: string, interfaceName = 'SesBouncerProps'): PropDoc[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found = source.statements.find((node): node is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(node) && node.name.text === interfaceName);
  if (found === undefined) throw new Error(`${file}: no interface ${interfaceName}`);
  return found.members.filter(ts.isPropertySignature).map((member) => {
    const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
    const text = oneLine(docs.map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '').join(' '));
    const tag = docs.flatMap((doc) => doc.tags ?? []).find((t) => t.tagName.text === 'default');
    return {
      name: member.name.getText(source),
      type: member.type?.getText(source) ?? 'unknown',
      required: member.questionToken === undefined,
      summary: firstSentence(text),
      defaultValue: tag === undefined ? undefined : oneLine(ts.getTextOfJSDocComment(tag.comment) ?? ''),
    };
  });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function firstSentence(text: string): string {
  const end = /\.(\s|$)/.exec(text);
  return end ? text.slice(0, end.index + 1) : text;
}

/** `@default - none: …` describes the default in words; `@default 'x'` or `@default false - …` gives a value. */
function formatDefault(doc: PropDoc): string {
  if (doc.required) return 'required';
  const value = doc.defaultValue ?? '';
  if (value.startsWith('- ')) return value.slice(2);
  const dash = value.indexOf(' - ');
  return dash === -1 ? `\`${value}\`` : `\`${value.slice(0, dash)}\`: ${value.slice(dash + 3)}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function propsTable(docs: readonly PropDoc[]): string {
  const rows = docs.map((doc) => `| \`${doc.name}\` | \`${cell(doc.type)}\` | ${cell(doc.summary)} | ${cell(formatDefault(doc))} |`);
  return [TABLE_START, '| prop | type | what it is | default |', '|---|---|---|---|', ...rows, TABLE_END].join('\n');
}

/** README.md with its props table replaced by `table`. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end === -1) throw new Error('README.md has no props table markers');
  return readme.slice(0, start) + table + readme.slice(end + TABLE_END.length);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const readme = join(root, 'README.md');
  writeFileSync(readme, withTable(readFileSync(readme, 'utf8'), propsTable(propDocs(join(root, 'lib', 'props.ts')))));
}
