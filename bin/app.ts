#!/usr/bin/env node
import './cli-setup';
import { App } from 'aws-cdk-lib';
import { defineStacks } from '../lib/app';
import { applyChecks } from '../lib/checks';

// Builds every stack from environments/ (lib/app.ts: per environment its registry stack, then its
// stack); `cdk synth` synthesizes them all, offline.
const app = new App();
defineStacks(app);
applyChecks(app);
