#!/usr/bin/env node
import { runCli } from '../cli/main.js';

// The CLI only talks to local engines; the SDK's notice about Node.js 20 support (the Lambda
// runs on 24) would bury the output of `npm start` on a Node.js 20 machine.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const io = {
  stdout: (line: string) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => process.stderr.write(`${line}\n`),
};

runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug, not a user's mistake: one line unless asked for the stack.
    io.stderr(`ses-bouncer: internal error: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.SES_BOUNCER_DEBUG) io.stderr(error instanceof Error ? (error.stack ?? '') : '');
    process.exitCode = 1;
  },
);
