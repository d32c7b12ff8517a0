// Writes policy.schema.json (for editor completion: `$schema: ./node_modules/ses-bouncer/policy.schema.json`
// or `# yaml-language-server: $schema=...`) from the zod schema the validator uses, so the two cannot drift.
import { writeFileSync } from 'node:fs';
import { policyJsonSchema } from '../lambda/core/json-schema.js';

const out = process.argv[2] ?? 'policy.schema.json';
writeFileSync(out, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
