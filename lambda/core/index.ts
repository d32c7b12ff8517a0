// The pure decision core: no AWS imports, no I/O beyond reading the policy file.
export * from './decide.js';
export * from './dsn.js';
export * from './errors.js';
export * from './event.js';
export * from './guards.js';
export * from './policy.js';
export { BounceType, type Action } from './policy-schema.js';
