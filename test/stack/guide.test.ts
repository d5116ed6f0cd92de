import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

/**
 * Every name, size and flag of the old deployment guide's environment configuration and runbooks,
 * quoted from it, must be findable in the synthesized template: operators' commands keep working.
 */
const GUIDE = {
  staging: {
    bot: [512, 1024, 1],
    ml: [1024, 2048, 1],
    dbClass: 'db.t3.medium',
    storage: 50,
    multiAz: false,
    live: false,
  },
  production: {
    bot: [512, 1024, 1],
    ml: [2048, 4096, 2],
    dbClass: 'db.r6g.large',
    storage: 100,
    multiAz: true,
    live: true,
  },
} as const;

describe.each(ENVIRONMENT_NAMES)('%s: the deployment guide, found in the template', (name) => {
  const { template } = synthesized(name);
  const json = template.toJSON();
  const text = JSON.stringify(json);
  const resources = Object.values(json.Resources) as { Type: string; Properties: Record<string, unknown> }[];
  const guide = GUIDE[name];

  test.each([
    `clever-better-${name}`,
    '"bot"',
    '"ml-service"',
    '/ecs/clever-better-bot',
    '/ecs/clever-better-ml',
    `clever-better/${name}/betfair`,
    `clever-better/${name}/database`,
    `clever-better/${name}/config`,
    '"clever-better-bot"',
    '"clever-better-ml"',
    '"clever_better"',
    '/health',
    'eu-west-1',
  ])('names %s', (needle) => {
    expect(text).toContain(needle);
  });

  test('sizes: bot and ML CPU, memory and counts', () => {
    const td = (family: string) =>
      resources.find((r) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties.Family === family)!;
    expect([td('clever-better-bot').Properties.Cpu, td('clever-better-bot').Properties.Memory]).toEqual(
      guide.bot.slice(0, 2).map(String),
    );
    expect([td('clever-better-ml').Properties.Cpu, td('clever-better-ml').Properties.Memory]).toEqual(
      guide.ml.slice(0, 2).map(String),
    );
    const scalable = resources.find((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget')!;
    expect(scalable.Properties.MinCapacity).toBe(guide.ml[2]);
    expect(json.Outputs.BotConfiguredCount.Value).toBe(String(guide.bot[2]));
  });

  test('database: class, storage, Multi-AZ', () => {
    const db = resources.find((r) => r.Type === 'AWS::RDS::DBInstance')!;
    expect(db.Properties).toMatchObject({
      DBInstanceClass: guide.dbClass,
      AllocatedStorage: String(guide.storage),
      MultiAZ: guide.multiAz,
    });
  });

  test('live trading flag', () => {
    expect(text).toContain(JSON.stringify(JSON.stringify({ live_trading_enabled: guide.live })));
  });
});
