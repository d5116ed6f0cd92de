import { App, Stack } from 'aws-cdk-lib';
import { environments } from '../environments';
import { CleverBetterStack } from './clever-better-stack';

/**
 * Every stack `bin/app.ts` deploys, added to `app`. Kept apart from `bin/app.ts` so tests that must
 * cover every stack the app synthesizes (test/deployability/) build exactly the same set: add a new
 * stack here, never only in `bin/app.ts`.
 */
export function defineStacks(app: App): Stack[] {
  return environments.map(
    (config) => new CleverBetterStack(app, config.stackName, { config, stackName: config.stackName }),
  );
}
