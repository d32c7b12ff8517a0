// The README's props table is made from the doc comments of lib/props.ts (scripts/props-table.ts):
// a prop added, renamed or given another default without `npm run docs:props` fails here.
import { readFileSync } from 'node:fs';
import { propDocs, propsTable, TABLE_END, TABLE_START } from '../../scripts/props-table.js';

const readme = readFileSync('README.md', 'utf8');

describe("the README's SesBouncer props table", () => {
  it('is the one the doc comments make', () => {
    const committed = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END) + TABLE_END.length);
    expect(committed).toBe(propsTable(propDocs('lib/props.ts')));
  });

  it('lists every prop, each with a summary and, unless required, a default', () => {
    const docs = propDocs('lib/props.ts');
    expect(docs.map((doc) => doc.name)).toContain('policy');
    for (const doc of docs) {
      expect([doc.name, doc.summary.length > 10]).toEqual([doc.name, true]);
      expect([doc.name, doc.required || doc.defaultValue !== undefined]).toEqual([doc.name, true]);
    }
  });
});
