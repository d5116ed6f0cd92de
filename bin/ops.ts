#!/usr/bin/env node
// `npm run ops -- <command> …`: one command per runbook task (see docs/runbooks.md).
import './cli-setup';
import { main } from '../lib/ops';

main(process.argv.slice(2)).then((code) => process.exit(code));
