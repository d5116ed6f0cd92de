#!/usr/bin/env node
import './cli-setup';
import { App } from 'aws-cdk-lib';
import { environments } from '../environments';
import { applyChecks } from '../lib/checks';
import { CleverBetterStack } from '../lib/clever-better-stack';

// Builds both environments from environments/; `cdk synth` synthesizes both, offline.
const app = new App();
for (const config of environments) {
  new CleverBetterStack(app, config.stackName, { config, stackName: config.stackName });
}
applyChecks(app);
