import { base } from './base';
import { defineEnvironment } from './define';
import { LocalEnvironmentConfig } from './types';

/**
 * Development: the guide's "local development, feature testing" environment, run by
 * `npm run local` on a developer's machine with no AWS and no Docker. It is never synthesized into a
 * stack (lib/app.ts builds only `environments`), so nothing can deploy it; it exists so that
 * `npm run ops -- <command> --env local` and the drill act on the same names and values the stacks
 * give staging and production. Account and region are the AWS emulator's defaults.
 */
export const local = defineEnvironment(base, {
  name: 'local' as never,
  stackName: 'LocalDevelopment',
  account: '123456789012',
  bot: { imageTag: 'local' },
  ml: { imageTag: 'local' },
  allowMutableImageTags: true,
  alarmEmail: 'oncall@localhost.example',
  // Nobody is on call for the local stand-in: its placeholder address is accepted.
  sandbox: true,
}) as unknown as LocalEnvironmentConfig;
