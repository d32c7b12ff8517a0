import * as z from 'zod/mini';
import { PolicyDocument } from './policy-schema.js';

/** The JSON Schema of the policy file, as a user writes it (defaults optional). */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PolicyDocument, { io: 'input' }),
    title: 'ses-bouncer policy',
  };
}
