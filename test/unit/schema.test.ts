import { readFileSync } from 'node:fs';
import { policyJsonSchema } from '../../lambda/core/json-schema.js';

describe('policy.schema.json', () => {
  it('is the JSON Schema generated from the validator, so the two cannot drift (regenerate: npm run build)', () => {
    expect(JSON.parse(readFileSync('policy.schema.json', 'utf8'))).toEqual(policyJsonSchema());
  });

  it('describes the contract keys and leaves out what the validator refuses', () => {
    const schema = policyJsonSchema() as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'bounce', 'rules']));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['mode', 'guards', 'lists', 'default']));
    expect(schema.additionalProperties).toBe(false);
  });
});
