#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is `main(argv)` returning an exit code (src/cli/main.ts), built into dist/ by `npm run build`.
const { main } = require('../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`hfu: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
);
