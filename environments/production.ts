import { base } from './base';
import { defineEnvironment } from './define';

/** Production: live trading. Everything listed here is what production does differently from the base. */
export const production = defineEnvironment(base, {
  name: 'production',
  stackName: 'ProductionStack',
  // Placeholder: set the production account id here (docs/environments.md "Setting the real account ids").
  account: '222222222222',
  // Second subscriber of pages (after the pager), and the ticket inbox.
  alarmEmail: 'oncall@clever-better.com',
  // Pages reach the pager through its HTTPS integration URL, kept in a secret (docs/monitoring.md "Monitoring").
  alerting: {
    pages: true,
    pager: { urlSecretName: 'clever-better/production/pager', urlSecretField: 'url' },
    // Where a page, ticket or OK that SNS could not deliver is reported: not the pager, not the inbox.
    fallbackEmail: 'oncall-fallback@clever-better.com',
  },
  // Who may run ops here (docs/deployment.md "Roles for people"): named IAM Identity Center roles of
  // this account, never the whole account (validation refuses it here). Placeholders like the account
  // id: set your permission sets' role names (they must exist when the stack deploys).
  access: {
    operatorPrincipals: [
      'role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_CleverBetterOperator_0123456789abcdef',
    ],
    viewerPrincipals: [
      'role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_CleverBetterViewer_0123456789abcdef',
    ],
  },
  terminationProtection: true,
  liveTradingEnabled: true,
  // Production runs exactly the bytes staging tested: every image by digest, replicated from
  // staging's registry. `npm run ops -- release` writes these pins (docs/first-deploy.md).
  requireImageDigests: true,
  logRetentionDays: 90,
  loadBalancerDeletionProtection: true,
  network: {
    cidr: '10.1.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    // One NAT per AZ: an AZ outage must not cut the bot off from Betfair.
    natGateways: 3,
    flowLogRetentionDays: 90,
  },
  bot: {
    imageTag: 'v1.2.3',
    imageDigest: 'sha256:dcb08b885399b3a4ac9fb8b937b3c666278b7caf962d60367b612c71b2d7f9d4',
  },
  ml: {
    cpu: 2048,
    memoryMiB: 4096,
    desiredCount: 2,
    maxCount: 6,
    imageTag: 'v1.2.3',
    imageDigest: 'sha256:76fab02d65fa9397b383d363b913d0f7a3843efa90844cdbe7827dcad37a680e',
  },
  database: {
    instanceClass: 'db.r6g.large',
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 500,
    multiAz: true,
    backupRetentionDays: 14,
    deletionProtection: true,
    removalPolicy: 'retain',
  },
  // An automatic rollback of live trading code is a decision for a person in production.
  rollback: { alarmActionEnabled: false },
  // Real money: page sooner on a bot that stops trading, fails to log in or keeps failing.
  monitoring: {
    noBetsWindowMinutes: 30,
    botErrorLinesPer5Minutes: 10,
    betfairAuthFailuresPer5Minutes: 3,
    betfairRateLimitsPer5Minutes: 5,
    mlTimeoutsPer5Minutes: 3,
    databaseFreeStorageGiB: 5,
    tasksBelowDesiredMinutes: 3,
    unhealthyTargetMinutes: 2,
    // Trading-impairing incidents page within 5 minutes (docs/runbooks.md "Time to page").
    silentBotMinutes: 2,
    tradingSignalMinutes: 2,
    marketDataMaxAgeSeconds: 60,
    marketDataStaleMinutes: 1,
  },
  // Live trading logs and calls more; a production increase of $100 a month is worth a warning.
  cost: {
    warnAboveUsdPerMonth: 100,
    usage: {
      botLogGbPerDay: 2,
      mlLogGbPerDay: 1,
      flowLogGbPerDay: 1,
      natProcessedGbPerMonth: 300,
      albLcuPerHour: 2,
    },
  },
});
