#!/usr/bin/env node
import './cli-setup';
import './synth-start';
import { App } from 'aws-cdk-lib';
import { defineStacks } from '../lib/app';
import { startValidation } from '../lib/background-validation';
import { applyChecks, CHECK_PACKS } from '../lib/checks';
import { stampSynthesis } from '../lib/synth-stamp';

// Builds every stack from environments/ (lib/app.ts: per environment its registry stack, then its
// stack); `cdk synth` synthesizes them all, offline.
const app = new App();
let cloudFormationValidation = false;
// For `npm run validate -- --synthesized` (the earlier stamp went in ./synth-start): a new one is
// written only once this synthesis has finished.
stampSynthesis(app, () => ({ cloudFormationValidation, checks: Object.keys(CHECK_PACKS) }));
// First, so the CloudFormation validation engine builds on the other core while the stacks do.
cloudFormationValidation = startValidation(app);
defineStacks(app);
applyChecks(app);
