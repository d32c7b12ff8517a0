// The pure decision core: no AWS imports, no I/O (policy files are read by lambda/app/policy-loader.ts).
export * from './decide.js';
export * from './dsn.js';
export * from './errors.js';
export * from './event.js';
export * from './guards.js';
export * from './policy-compiler.js';
export { BounceType, type Action } from './policy-schema.js';
