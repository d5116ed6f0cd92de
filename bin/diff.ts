#!/usr/bin/env node
import './cli-setup';
import { runDiff } from '../lib/diff/cli';

// `npm run diff -- --base <git-ref>`: risk summary and diff of every stack, no AWS credentials needed.
runDiff(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
