import { environments, production, staging } from '../environments';
import { base } from '../environments/base';
import { FARGATE_TASK_SIZES, isValidFargateSize } from '../environments/fargate';
import { validateEnvironments } from '../environments/validate';
import { rejection, variant } from './helpers/environments';

describe("the guide's tfvars values", () => {
  test('staging holds the staging tfvars', () => {
    expect(staging).toMatchObject({
      region: 'eu-west-1',
      liveTradingEnabled: false,
      bot: { cpu: 512, memoryMiB: 1024, desiredCount: 1 },
      ml: { cpu: 1024, memoryMiB: 2048, desiredCount: 1 },
      database: { instanceClass: 'db.t3.medium', allocatedStorageGiB: 50, multiAz: false },
    });
  });

  test('production holds the production tfvars', () => {
    expect(production).toMatchObject({
      region: 'eu-west-1',
      liveTradingEnabled: true,
      bot: { cpu: 512, memoryMiB: 1024, desiredCount: 1 },
      ml: { cpu: 2048, memoryMiB: 4096, desiredCount: 2 },
      database: {
        instanceClass: 'db.r6g.large',
        allocatedStorageGiB: 100,
        multiAz: true,
        deletionProtection: true,
      },
      terminationProtection: true,
      allowMutableImageTags: false,
    });
  });

  test('both committed environments are valid and frozen', () => {
    expect(environments.map((e) => e.stackName)).toEqual(['StagingStack', 'ProductionStack']);
    expect(() => validateEnvironments([staging, production])).not.toThrow();
    expect(Object.isFrozen(production.database)).toBe(true);
  });

  test('an override replaces only the fields it names', () => {
    expect(production.bot.containerPort).toBe(base.bot.containerPort);
    expect(production.ml.targetCpuUtilizationPercent).toBe(base.ml.targetCpuUtilizationPercent);
  });
});

describe('Fargate task sizes as data', () => {
  test.each([
    [256, 512, true],
    [256, 4096, false],
    [512, 1024, true],
    [1024, 3072, true],
    [1024, 1024, false],
    [2048, 4096, true],
    [2048, 16384, true],
    [4096, 30720, true],
    [8192, 20480, true],
    [8192, 18432, false],
    [300, 1024, false],
  ])('cpu %i with %i MiB valid: %s', (cpu, memory, valid) => {
    expect(isValidFargateSize(cpu, memory)).toBe(valid);
  });

  test('every row starts at twice its CPU in MiB or more', () => {
    for (const row of FARGATE_TASK_SIZES) expect(row.minMemoryMiB).toBeGreaterThanOrEqual(row.cpu * 2);
  });
});

describe('bad configuration fails synth with field, value and fix', () => {
  test('fails on a CPU/memory pair Fargate rejects', () => {
    const msg = rejection([variant(staging, { ml: { cpu: 1024, memoryMiB: 1024 } }), production]);
    expect(msg).toContain('staging.ml.memoryMiB = 1024');
    expect(msg).toContain('Fargate rejects 1024 MiB with 1024 CPU units');
    expect(msg).toContain('Fix: with cpu 1024 use memoryMiB 2048–8192 in steps of 1024');
  });

  test('fails on an unknown CPU size', () => {
    const msg = rejection([variant(staging, { bot: { cpu: 300 } }), production]);
    expect(msg).toMatch(/staging\.bot\.cpu = 300: Fargate has no such CPU size\. Fix: use one of 256, 512/);
  });

  test('fails on a malformed instance class', () => {
    const msg = rejection([variant(staging, { database: { instanceClass: 't3.medium' } }), production]);
    expect(msg).toContain('staging.database.instanceClass = "t3.medium": malformed RDS instance class');
    expect(msg).toContain('Fix: use e.g. "db.t3.medium"');
  });

  test('fails on an unknown instance family and an unknown size', () => {
    expect(
      rejection([variant(staging, { database: { instanceClass: 'db.x9z.large' } }), production]),
    ).toContain('unknown RDS instance family "x9z"');
    const msg = rejection([variant(staging, { database: { instanceClass: 'db.r6g.medium' } }), production]);
    expect(msg).toContain('RDS for PostgreSQL has no size "medium" in family r6g');
    expect(msg).toContain('db.r6g.large');
  });

  test.each([10, 70000, 50.5])('fails on storage of %p GiB', (gib) => {
    const msg = rejection([
      variant(staging, { database: { allocatedStorageGiB: gib, maxAllocatedStorageGiB: 70000 } }),
      production,
    ]);
    expect(msg).toContain(
      `staging.database.allocatedStorageGiB = ${gib}: RDS gp3 storage must be 20–65536 GiB`,
    );
  });

  test.each(['12345', '1234567890123', 'abcdefghijkl', '1111-1111-11'])(
    'fails on account id %p',
    (account) => {
      const msg = rejection([variant(staging, { account }), production]);
      expect(msg).toContain(`staging.account = "${account}": an AWS account id is exactly 12 digits`);
      expect(msg).toContain('Fix: set the 12-digit id');
    },
  );

  test('fails when two environments share an account and region', () => {
    const msg = rejection([staging, variant(production, { account: staging.account })]);
    expect(msg).toContain(`production.account = "${staging.account}": production and staging share account`);
    expect(msg).toContain('Fix: give each environment its own AWS account');
  });

  test.each(['latest', 'LATEST', 'stable', 'main'])('fails on the mutable tag %p in production', (tag) => {
    const msg = rejection([staging, variant(production, { bot: { imageTag: tag } })]);
    expect(msg).toContain(
      `production.bot.imageTag = "${tag}": "${tag}" is a mutable tag and production must pin what it runs`,
    );
  });

  test('accepts a mutable tag where the environment allows it', () => {
    expect(() =>
      validateEnvironments([
        variant(staging, { allowMutableImageTags: true, bot: { imageTag: 'latest' } }),
        production,
      ]),
    ).not.toThrow();
  });

  test.each([5, 301, 60.5])('fails on a Betfair heartbeat timeout of %p seconds', (seconds) => {
    const msg = rejection([variant(staging, { betfairHeartbeatTimeoutSeconds: seconds }), production]);
    expect(msg).toContain(
      `staging.betfairHeartbeatTimeoutSeconds = ${seconds}: Betfair's Heartbeat API accepts whole seconds from 10 to 300`,
    );
  });

  test('fails on live trading outside production unless it is acknowledged', () => {
    const msg = rejection([variant(staging, { liveTradingEnabled: true }), production]);
    expect(msg).toContain(
      'staging.liveTradingEnabled = true: live trading outside production bets real money',
    );
    expect(msg).toContain('acknowledgeLiveTradingOutsideProduction: true');
    // Live trading anywhere also refuses account-root trust for people (validate-access.ts).
    const acknowledged = variant(staging, {
      liveTradingEnabled: true,
      acknowledgeLiveTradingOutsideProduction: true,
    });
    expect(rejection([acknowledged, production])).toContain(
      'staging.access.operatorPrincipals = []: trusts the whole account',
    );
    expect(() =>
      validateEnvironments([
        variant(acknowledged, { access: { ...staging.access, acknowledgeAccountRootTrust: true } }),
        production,
      ]),
    ).not.toThrow();
    expect(production.acknowledgeLiveTradingOutsideProduction).toBeUndefined();
  });

  test('fails on a second bot', () => {
    const msg = rejection([variant(staging, { bot: { desiredCount: 2 } }), production]);
    expect(msg).toContain(
      'staging.bot.desiredCount = 2: more than one bot would place every bet more than once',
    );
  });

  test('fails on zones outside the region and too many NAT gateways', () => {
    const msg = rejection([
      variant(staging, { network: { availabilityZones: ['eu-west-1a', 'us-east-1b'], natGateways: 3 } }),
      production,
    ]);
    expect(msg).toContain(
      'staging.network.availabilityZones = ["us-east-1b"]: not zones of region eu-west-1',
    );
    expect(msg).toContain('staging.network.natGateways = 3: must be 1–2');
  });

  test('fails on backups kept under 7 days and a retention CloudWatch does not offer', () => {
    const msg = rejection([
      variant(staging, { logRetentionDays: 31, database: { backupRetentionDays: 1 } }),
      production,
    ]);
    expect(msg).toContain('staging.database.backupRetentionDays = 1');
    expect(msg).toContain('staging.logRetentionDays = 31: CloudWatch Logs does not offer this retention');
  });

  test('lists every problem at once', () => {
    const msg = rejection([variant(staging, { account: 'x', bot: { imageTag: 'bad tag!' } }), production]);
    expect(msg).toMatch(/^Invalid environment configuration \(2 problems\)/);
  });
});
