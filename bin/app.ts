#!/usr/bin/env node
// CDK app entry (cdk.json "app"): settings from cdk.json context, see README "Deploying".
import { appFromContext } from '../lib/app.js';
import { SesBouncerConfigError } from '../lib/errors.js';

try {
  appFromContext();
} catch (error) {
  // A bad policy or setting is the user's to fix: its message, no stack trace.
  if (!(error instanceof SesBouncerConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
