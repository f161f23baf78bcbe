#!/usr/bin/env node
"use strict";
require("../dist/cjs/src/cli.js").main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`ringloop: ${err && err.stack ? err.stack : err}`); process.exitCode = 1; },
);
