import { base } from './base';
import { defineEnvironment } from './define';

/** Staging: integration testing and UAT. The guide's staging tfvars, live trading off. */
export const staging = defineEnvironment(base, {
  name: 'staging',
  stackName: 'StagingStack',
  // Placeholder: set the staging account id here (docs/environments.md "Setting the real account ids").
  account: '111111111111',
  // Images built here are tested here, then replicated to production's registry by ECR.
  promoteImagesTo: 'production',
  // Staging pages nobody (alerting.pages stays false): every alarm is a ticket to this inbox.
  alarmEmail: 'oncall-staging@clever-better.com',
  // Failed deliveries of staging's tickets are reported to this second mailbox.
  alerting: { fallbackEmail: 'oncall-fallback@clever-better.com' },
  // Who may run ops here: the base's default, this account (its IAM says who; the operator needs
  // MFA). Staging trades no money; production names its people's roles.
  bot: { imageTag: 'v1.2.3' },
  ml: { imageTag: 'v1.2.3' },
  // Live trading is off here, so no bets are expected: no "no bets" alarm. A silent bot still alarms.
  monitoring: { racingHours: { daysOfWeek: [] } },
});
