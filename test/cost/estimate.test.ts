import { staging } from '../../environments';
import { CfnTemplate } from '../../lib/diff/template';
import { inputsFor } from '../../lib/cost/environment';
import { CostLine, estimateTemplate, totalOf } from '../../lib/cost/estimate';
import { PRICE_TABLES, priceOf } from '../../lib/cost/prices';

const inputs = inputsFor(staging);

/** One NAT gateway, one db.t3.medium (20 GB gp3, Single-AZ) and one Fargate task (0.25 vCPU, 0.5 GB). */
const SMALL: CfnTemplate = {
  Resources: {
    Nat: { Type: 'AWS::EC2::NatGateway', Properties: { SubnetId: 'subnet-1', AllocationId: 'eipalloc-1' } },
    Db: {
      Type: 'AWS::RDS::DBInstance',
      Properties: {
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.medium',
        AllocatedStorage: '20',
        StorageType: 'gp3',
        MultiAZ: false,
      },
    },
    Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '256', Memory: '512' } },
    Service: {
      Type: 'AWS::ECS::Service',
      Properties: { LaunchType: 'FARGATE', DesiredCount: 1, TaskDefinition: { Ref: 'Task' } },
    },
  },
};

const fixedOf = (lines: readonly CostLine[], logicalId: string) =>
  lines.filter((l) => l.logicalId === logicalId && l.kind === 'fixed');

describe('fixed monthly cost of a hand-checked template', () => {
  test('one NAT gateway, one db.t3.medium and one Fargate task cost what the price rows say', () => {
    // By hand, from the eu-west-1 rows of lib/cost/prices.ts, 730 hours a month:
    //   NAT gateway:  730 h × $0.048 (nat.hour)                                      = $35.04
    //   Fargate task: 730 h × (0.25 vCPU × $0.04048 + 0.5 GB × $0.004445)
    //               = 730 × (0.01012 + 0.0022225) = 730 × 0.0123425                 =  $9.010025
    //   db.t3.medium: 20 GB gp3 × $0.127 (rds.gp3.gb-month)                          =  $2.54
    //                 730 instance-hours × unknown (rds.instance.postgres.db.t3.medium: no sourced row)
    //   Known fixed total = 35.04 + 9.010025 + 2.54                                  = $46.590025,
    //   plus one line of unknown price, which the total must say rather than count as zero.
    const estimate = estimateTemplate('Small', SMALL, inputs);
    const fixed = totalOf(estimate.lines, 'fixed');
    expect(fixed.usd).toBeCloseTo(46.590025, 6);
    expect(fixed.unknownLines).toBe(1);

    expect(totalOf(fixedOf(estimate.lines, 'Nat')).usd).toBeCloseTo(35.04, 6);
    expect(totalOf(fixedOf(estimate.lines, 'Service')).usd).toBeCloseTo(9.010025, 6);
    const instance = fixedOf(estimate.lines, 'Db').find(
      (l) => l.priceId === 'rds.instance.postgres.db.t3.medium',
    );
    expect(instance).toMatchObject({ quantity: 730, unitUsd: 'unknown', monthlyUsd: undefined });
    expect(estimate.uncovered).toEqual([]);
  });

  test('the hand calculation uses the rows the table really holds', () => {
    // Guards the comment above: a changed price must fail here, not silently move the pinned total.
    const table = PRICE_TABLES['eu-west-1'];
    expect(table['nat.hour'].usd).toBe(0.048);
    expect(table['fargate.vcpu-hour'].usd).toBe(0.04048);
    expect(table['fargate.gb-hour'].usd).toBe(0.004445);
    expect(table['rds.gp3.gb-month'].usd).toBe(0.127);
    expect(table['rds.instance.postgres.db.t3.medium'].usd).toBe('unknown');
  });
});

describe('how each dimension is counted', () => {
  const one = (resources: CfnTemplate['Resources']) =>
    estimateTemplate('T', { Resources: resources }, inputs).lines;

  test('Multi-AZ bills instance-hours and storage twice (primary and standby)', () => {
    const lines = one({
      Db: {
        Type: 'AWS::RDS::DBInstance',
        Properties: {
          Engine: 'postgres',
          DBInstanceClass: 'db.r6g.large',
          AllocatedStorage: '100',
          StorageType: 'gp3',
          MultiAZ: true,
        },
      },
    });
    expect(lines.find((l) => l.priceId === 'rds.instance.postgres.db.r6g.large')?.quantity).toBe(1460);
    expect(lines.find((l) => l.priceId === 'rds.gp3.gb-month')).toMatchObject({
      quantity: 200,
      monthlyUsd: 200 * 0.127,
    });
  });

  test('a service without DesiredCount runs the count the config gives for its name', () => {
    const resources = {
      Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '1024', Memory: '2048' } },
      Bot: {
        Type: 'AWS::ECS::Service',
        Properties: { LaunchType: 'FARGATE', ServiceName: 'bot', TaskDefinition: { Ref: 'Task' } },
      },
    };
    const running = estimateTemplate(
      'T',
      { Resources: resources },
      { ...inputs, serviceTaskCounts: { bot: 1 } },
    ).lines;
    const stopped = estimateTemplate(
      'T',
      { Resources: resources },
      { ...inputs, serviceTaskCounts: { bot: 0 } },
    ).lines;
    expect(totalOf(running).usd).toBeCloseTo(730 * (0.04048 + 2 * 0.004445), 6);
    expect(totalOf(stopped).usd).toBe(0);
    expect(running[0].basis).toContain('config desiredCount');
    expect(running[0].configCount).toBe('bot');
  });

  test('an autoscaled service without a config count runs its scaling minimum', () => {
    const lines = one({
      Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '1024', Memory: '2048' } },
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: { LaunchType: 'FARGATE', TaskDefinition: { Ref: 'Task' } },
      },
      Scaling: {
        Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
        Properties: {
          MinCapacity: 3,
          MaxCapacity: 6,
          ResourceId: { 'Fn::Join': ['', ['service/', { 'Fn::GetAtt': ['Svc', 'Name'] }]] },
        },
      },
    });
    expect(lines.find((l) => l.priceId === 'fargate.vcpu-hour')?.quantity).toBe(3 * 730);
  });

  test("an autoscaled service runs its template's scaling minimum even when the config names a count", () => {
    // A pull-request delta prices both sides with the working tree's config: the template must win.
    const lines = estimateTemplate(
      'T',
      {
        Resources: {
          Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '1024', Memory: '2048' } },
          Svc: {
            Type: 'AWS::ECS::Service',
            Properties: { LaunchType: 'FARGATE', ServiceName: 'ml-service', TaskDefinition: { Ref: 'Task' } },
          },
          Scaling: {
            Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
            Properties: {
              MinCapacity: 1,
              MaxCapacity: 4,
              ResourceId: { 'Fn::Join': ['', ['service/', { 'Fn::GetAtt': ['Svc', 'Name'] }]] },
            },
          },
        },
      },
      { ...inputs, serviceTaskCounts: { 'ml-service': 2 } },
    ).lines;
    const vcpu = lines.find((l) => l.priceId === 'fargate.vcpu-hour');
    expect(vcpu?.quantity).toBe(730);
    expect(vcpu?.basis).toContain('autoscaling minimum');
    expect(vcpu?.configCount).toBeUndefined();
  });

  test('an alarm bills every metric it evaluates, not its expressions', () => {
    const lines = one({
      Math: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Metrics: [
            { Id: 'e', Expression: 'a + b', ReturnData: true },
            { Id: 'a', MetricStat: { Period: 300, Metric: { MetricName: 'A' } } },
            { Id: 'b', MetricStat: { Period: 300, Metric: { MetricName: 'B' } } },
          ],
        },
      },
      Plain: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'C', Period: 60 } },
      Fast: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'D', Period: 10 } },
    });
    expect(lines.find((l) => l.logicalId === 'Math')).toMatchObject({ quantity: 2, monthlyUsd: 0.2 });
    expect(lines.find((l) => l.logicalId === 'Plain')).toMatchObject({ quantity: 1, monthlyUsd: 0.1 });
    expect(lines.find((l) => l.logicalId === 'Fast')).toMatchObject({
      priceId: 'cloudwatch.alarm-high-resolution',
    });
  });

  test('an anomaly-detection alarm bills three metrics: the metric and both bounds of the band', () => {
    const lines = one({
      Band: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          ThresholdMetricId: 'band',
          Metrics: [
            { Id: 'm', MetricStat: { Period: 300, Metric: { MetricName: 'Latency' } } },
            { Id: 'band', Expression: 'ANOMALY_DETECTION_BAND(m, 2)' },
          ],
        },
      },
    });
    expect(lines[0]).toMatchObject({ quantity: 3, monthlyUsd: 0.30000000000000004 });
  });

  test('Fargate Spot and ARM tasks are never priced as on-demand x86', () => {
    const task = (RuntimePlatform?: object) => ({
      Type: 'AWS::ECS::TaskDefinition',
      Properties: { Cpu: '1024', Memory: '2048', RuntimePlatform },
    });
    const spot = one({
      Task: task(),
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: {
          DesiredCount: 1,
          TaskDefinition: { Ref: 'Task' },
          CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
        },
      },
    });
    expect(spot.map((l) => [l.priceId, l.monthlyUsd])).toEqual([
      ['fargate-spot-vcpu-hour', undefined],
      ['fargate-spot-gb-hour', undefined],
    ]);
    const arm = one({
      Task: task({ CpuArchitecture: 'ARM64' }),
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: { LaunchType: 'FARGATE', DesiredCount: 1, TaskDefinition: { Ref: 'Task' } },
      },
    });
    expect(arm.map((l) => l.priceId)).toEqual(['fargate.arm-vcpu-hour', 'fargate.arm-gb-hour']);
  });

  test('an Infrequent Access log group is not priced at the Standard ingestion rate', () => {
    const lines = one({
      Ia: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupClass: 'INFREQUENT_ACCESS' } },
    });
    expect(lines[0].priceId).toBe('logs.infrequent-access-ingest-gb');
  });

  test('an internet-facing load balancer also pays a public IPv4 address per subnet; an internal one does not', () => {
    const lb = (Scheme: string) =>
      one({
        Lb: {
          Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
          Properties: { Scheme, Subnets: ['a', 'b', 'c'] },
        },
      });
    expect(lb('internet-facing').find((l) => l.priceId === 'ipv4.hour')?.quantity).toBe(3 * 730);
    expect(lb('internal').some((l) => l.priceId === 'ipv4.hour')).toBe(false);
  });

  test('the flow-log destination is priced as vended logs at the flow-log volume; other groups at theirs', () => {
    const lines = one({
      Flow: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
      FlowLog: { Type: 'AWS::EC2::FlowLog', Properties: { LogGroupName: { Ref: 'Flow' } } },
      Bot: {
        Type: 'AWS::Logs::LogGroup',
        Properties: { LogGroupName: '/ecs/clever-better-bot', RetentionInDays: 30 },
      },
      Fn: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
    });
    const u = staging.cost.usage;
    expect(
      lines.find((l) => l.logicalId === 'Flow' && l.priceId === 'logs.vended-ingest-gb')?.quantity,
    ).toBeCloseTo(u.flowLogGbPerDay * 30.4);
    expect(lines.find((l) => l.logicalId === 'Bot' && l.priceId === 'logs.ingest-gb')?.quantity).toBeCloseTo(
      u.botLogGbPerDay * 30.4,
    );
    expect(
      lines.find((l) => l.logicalId === 'Fn' && l.priceId === 'logs.storage-gb-month')?.quantity,
    ).toBeCloseTo(u.otherLogGbPerLogGroupPerDay * 30);
    expect(lines.every((l) => l.kind === 'usage')).toBe(true);
  });

  test('a resource type nobody classified is reported as uncovered, never priced at zero', () => {
    const estimate = estimateTemplate(
      'T',
      { Resources: { Table: { Type: 'AWS::DynamoDB::Table', Properties: {} } } },
      inputs,
    );
    expect(estimate.uncovered).toEqual([{ logicalId: 'Table', type: 'AWS::DynamoDB::Table' }]);
    expect(estimate.lines).toEqual([]);
  });

  test('a price id without a row is unknown, naming what is missing', () => {
    expect(priceOf('eu-west-1', 'rds.instance.postgres.db.x9.huge')).toMatchObject({ usd: 'unknown' });
    expect(priceOf('mars-north-1', 'nat.hour').evidence).toContain('no price table for region mars-north-1');
  });
});
