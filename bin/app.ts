#!/usr/bin/env node
import './cli-setup';
import { App } from 'aws-cdk-lib';
import { defineStacks } from '../lib/app';
import { startValidation } from '../lib/background-validation';
import { applyChecks } from '../lib/checks';

// Builds every stack from environments/ (lib/app.ts: per environment its registry stack, then its
// stack); `cdk synth` synthesizes them all, offline.
const app = new App();
// First, so the CloudFormation validation engine builds on the other core while the stacks do.
startValidation(app);
defineStacks(app);
applyChecks(app);
