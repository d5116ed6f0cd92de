#!/usr/bin/env node
import './cli-setup';
import { environments } from '../environments';
import { defaultCostDeps, runCost } from '../lib/cost/cli';

// `npm run cost`: monthly estimate of every environment, fixed and usage-based apart (docs/cost.md).
runCost(process.argv.slice(2), defaultCostDeps(environments)).then((code) => {
  process.exitCode = code;
});
