/**
 * `npm run cost` over the real app: every stack the app synthesizes (lib/app.ts), read from the run's
 * one synthesis of the app (test/helpers/shared-assembly.ts), which is synthesized as `cdk synth`
 * does: path metadata on (resources without a physical name show their construct path), feature
 * flags from cdk.json, no Lambda bundling (the estimate never reads code). Read only: tests that
 * change a template change a copy.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environments, production } from '../../environments';
import { CfnResource, CfnTemplate, resourcesOf } from '../../lib/diff/template';
import { inputsFor } from '../../lib/cost/environment';
import { costDelta, costDeltaSentence } from '../../lib/cost/delta';
import { coverageOf, estimateTemplate } from '../../lib/cost/estimate';
import { PRICE_TABLES } from '../../lib/cost/prices';
import { CostDeps, runCost, templatesIn } from '../../lib/cost/cli';
import { sharedAssemblyDir } from '../helpers/shared-assembly';

let dir: string;
let templates: Map<string, CfnTemplate>;

beforeAll(() => {
  dir = sharedAssemblyDir();
  templates = templatesIn(dir);
}, 120_000);

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const deps: CostDeps = {
    projectRoot: path.resolve(__dirname, '..', '..'),
    environments,
    synthesize: () => Promise.reject(new Error('tests pass --dir')),
    out: (t) => (out += t),
    err: (t) => (err += t),
  };
  return runCost(argv, deps).then((code) => ({ code, out, err }));
}

describe('completeness: every resource type of every template is priced, free, or explicitly not estimated', () => {
  test('no template holds a type without an entry in lib/cost/coverage.ts', () => {
    const types = new Set<string>();
    const missing: string[] = [];
    for (const [stack, template] of templates) {
      for (const [id, resource] of Object.entries(resourcesOf(template))) {
        types.add(resource.Type);
        if (!coverageOf(resource.Type)) missing.push(`${stack}/${id} (${resource.Type})`);
      }
    }
    expect(missing).toEqual([]);
    // Non-vacuous: the four stacks hold dozens of types, both priced and free ones.
    expect(templates.size).toBe(4);
    expect(types.size).toBeGreaterThan(30);
  });

  test('a template with a type that has no entry makes npm run cost fail and name it', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-extra-'));
    try {
      fs.cpSync(dir, copy, { recursive: true });
      const file = path.join(copy, 'ProductionStack.template.json');
      const template = JSON.parse(fs.readFileSync(file, 'utf8'));
      template.Resources.Ledger = { Type: 'AWS::DynamoDB::Table', Properties: {} };
      fs.writeFileSync(file, JSON.stringify(template));
      const { code, out } = await run(['--dir', copy, '--summary']);
      expect(code).toBe(1);
      expect(out).toContain(
        'NOT PRICED (no entry in lib/cost/coverage.ts, so the total is too low): ProductionStack/Ledger (AWS::DynamoDB::Table)',
      );
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  test('every price the real templates ask for has a row in the region table (known or explicitly unknown)', () => {
    const asked = new Set<string>();
    for (const config of environments) {
      const table = PRICE_TABLES[config.region];
      expect(table).toBeDefined();
      for (const name of [config.stackName]) {
        for (const line of estimateTemplate(name, templates.get(name)!, inputsFor(config)).lines) {
          asked.add(line.priceId);
          expect([line.priceId, Boolean(table[line.priceId])]).toEqual([line.priceId, true]);
        }
      }
    }
    expect(asked.size).toBeGreaterThan(15);
  });

  test('every row names its AWS pricing page, where the figure was read and when', () => {
    const rows = Object.values(PRICE_TABLES).flatMap((t) => Object.values(t));
    for (const row of rows) {
      expect(row.source).toMatch(/^https:\/\/aws\.amazon\.com\/[a-z0-9-]+\/([a-z0-9-]+\/)?pricing\/$/);
      expect(row.evidence.length).toBeGreaterThan(10);
      expect(row.readOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(row.usd === 'unknown' || (typeof row.usd === 'number' && row.usd > 0)).toBe(true);
    }
    // The dimensions the issue lists all have a row, priced or marked unknown.
    for (const id of [
      'fargate.vcpu-hour',
      'fargate.gb-hour',
      'rds.gp3.gb-month',
      'rds.gp3.iops-month',
      'rds.backup.gb-month',
      'nat.hour',
      'nat.gb-processed',
      'alb.hour',
      'alb.lcu-hour',
      'cloudwatch.alarm',
      'cloudwatch.alarm-high-resolution',
      'cloudwatch.metric',
      'cloudwatch.dashboard',
      'logs.ingest-gb',
      'logs.storage-gb-month',
      'secrets.secret-month',
      'kms.key-month',
      'ecr.gb-month',
      'logs.vended-ingest-gb',
      'lambda.gb-second',
      'lambda.request',
      'sns.publish',
    ]) {
      expect([id, PRICE_TABLES['eu-west-1'][id] !== undefined]).toEqual([id, true]);
    }
  });
});

describe('npm run cost', () => {
  test('prints both environments with fixed and usage-based parts apart, per resource and per service', async () => {
    const { code, out, err } = await run(['--dir', dir]);
    expect(err).toBe('');
    expect(code).toBe(0);
    for (const config of environments) {
      const start = out.indexOf(`${config.name} (${config.region}`);
      expect(start).toBeGreaterThan(-1);
      const section = out.slice(start);
      expect(section).toMatch(
        /Fixed: from the templates and environments\/\w+\.ts \(730 h a month\): \$[\d,]+\.\d\d/,
      );
      expect(section).toMatch(/Usage-based: ASSUMPTIONS from cost\.usage/);
    }
    // Resources appear by physical name where they have one.
    expect(out).toContain('clever-better-production-');
    expect(out).toMatch(
      'Network/Vpc/PublicSubnet3/NATGateway: NAT gateway hour, 730 h = 730 hour × $0.048/hour = $35.04',
    );
  });

  test('production costs more than staging in fixed costs: three NAT gateways, Multi-AZ, two ML tasks', () => {
    const fixed = (config: (typeof environments)[number]) =>
      estimateTemplate(config.stackName, templates.get(config.stackName)!, inputsFor(config))
        .lines.filter((l) => l.kind === 'fixed')
        .reduce((sum, l) => sum + (l.monthlyUsd ?? 0), 0);
    const [staging, prod] = [environments.find((e) => e.name === 'staging')!, production];
    expect(fixed(prod)).toBeGreaterThan(fixed(staging));
    const natLines = estimateTemplate(
      prod.stackName,
      templates.get(prod.stackName)!,
      inputsFor(prod),
    ).lines.filter((l) => l.priceId === 'nat.hour');
    expect(natLines).toHaveLength(prod.network.natGateways);
  });

  test('without --dir it synthesizes into a temporary assembly, passes a synth warning on, and removes it', async () => {
    let outDir = '';
    let out = '';
    let err = '';
    const deps: CostDeps = {
      projectRoot: path.resolve(__dirname, '..', '..'),
      environments,
      synthesize: async (_cwd, dest) => {
        outDir = dest;
        fs.cpSync(dir, dest, { recursive: true });
        return 'cdk synth of the working tree reported 1 error(s)\n(details)';
      },
      out: (t) => (out += t),
      err: (t) => (err += t),
    };
    expect(await runCost(['--summary'], deps)).toBe(0);
    expect(out).toContain('production (eu-west-1');
    expect(err).toBe('warning: cdk synth of the working tree reported 1 error(s)\n');
    expect(fs.existsSync(outDir)).toBe(false);
  });

  test.each(environments.map((e) => [e.name, e] as const))(
    'the %s estimate follows the config: one NAT line per gateway, the tasks and sizes of bot and ml-service',
    (_name, config) => {
      const lines = estimateTemplate(
        config.stackName,
        templates.get(config.stackName)!,
        inputsFor(config),
      ).lines;
      expect(lines.filter((l) => l.priceId === 'nat.hour')).toHaveLength(config.network.natGateways);
      for (const [serviceName, svc] of [
        ['bot', config.bot],
        ['ml-service', config.ml],
      ] as const) {
        const vcpu = lines.find((l) => l.name === serviceName && l.priceId === 'fargate.vcpu-hour');
        const gb = lines.find((l) => l.name === serviceName && l.priceId === 'fargate.gb-hour');
        expect([serviceName, vcpu?.quantity]).toEqual([
          serviceName,
          (svc.desiredCount * 730 * svc.cpu) / 1024,
        ]);
        expect([serviceName, gb?.quantity]).toEqual([
          serviceName,
          (svc.desiredCount * 730 * svc.memoryMiB) / 1024,
        ]);
      }
      const db = lines.find((l) => l.priceId === `rds.instance.postgres.${config.database.instanceClass}`);
      expect(db?.quantity).toBe(730 * (config.database.multiAz ? 2 : 1));
      const storage = lines.find((l) => l.priceId === 'rds.gp3.gb-month');
      expect(storage?.quantity).toBe(config.database.allocatedStorageGiB * (config.database.multiAz ? 2 : 1));
    },
  );

  test('fails on an unknown option, a missing value or an unknown environment, naming the fix', async () => {
    expect(await run(['--dirr', dir])).toMatchObject({
      code: 2,
      err: expect.stringContaining('Unknown option --dirr. Fix: see --help.'),
    });
    expect(await run(['--env'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--env needs a value'),
    });
    expect(await run(['--dir', dir, '--env', 'prod'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--env prod: no such environment. Fix: one of staging, production.'),
    });
    expect(await run(['--dir', path.join(dir, 'nope')])).toMatchObject({
      code: 2,
      err: expect.stringContaining('not a cloud assembly'),
    });
  });

  test('--env limits the report to that environment', async () => {
    const { code, out } = await run(['--dir', dir, '--env', 'staging', '--summary']);
    expect(code).toBe(0);
    expect(out).toContain('staging (eu-west-1');
    expect(out).not.toContain('production (eu-west-1');
  });
});

describe('pull-request delta', () => {
  test("the synthesized ml service's count is its autoscaling minimum, so lowering it shows on the head side", () => {
    const base = templates.get(production.stackName)!;
    const head = JSON.parse(JSON.stringify(base)) as { Resources: Record<string, CfnResource> };
    const targets = Object.values(head.Resources).filter(
      (r) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget',
    );
    expect(targets).toHaveLength(1);
    expect(targets[0].Properties!.MinCapacity).toBe(production.ml.desiredCount);
    targets[0].Properties!.MinCapacity = 1;
    const delta = costDelta(base, head as CfnTemplate, inputsFor(production));
    // One ml task fewer (2 vCPU, 4 GB): 730 × (2 × $0.04048 + 4 × $0.004445) = $72.0802.
    expect(delta.usd).toBeCloseTo(-72.0802, 6);
    expect(delta.configCounts).toEqual(['bot']);
  });

  test('a change that adds a NAT gateway in production shows +$38.69/month, named by dimension', () => {
    const base = templates.get(production.stackName)!;
    const head = JSON.parse(JSON.stringify(base)) as { Resources: Record<string, CfnResource> };
    head.Resources.ExtraEip = { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc' } };
    head.Resources.ExtraNat = {
      Type: 'AWS::EC2::NatGateway',
      Properties: { AllocationId: { 'Fn::GetAtt': ['ExtraEip', 'AllocationId'] }, SubnetId: 'subnet-x' },
    };
    const delta = costDelta(base, head, inputsFor(production));
    // By hand: NAT gateway 730 h × $0.048 = $35.04; its Elastic IP 730 h × $0.005 = $3.65. The
    // processed-GB assumption is a total shared by the gateways, so it does not move: +$38.69.
    expect(delta.usd).toBeCloseTo(38.69, 6);
    expect(delta.dimensions.map((d) => d.dimension)).toEqual([
      'NAT gateway hour',
      'Public IPv4 address in use (Elastic IP, internet-facing load balancer node)',
    ]);
    expect(costDeltaSentence('production', delta)).toBe(
      "+$38.69/month in production (NAT gateway hour +$35.04, Public IPv4 address in use (Elastic IP, internet-facing load balancer node) +$3.65; bot task count from the head's config desiredCount, the same on both sides)",
    );
    // Removing it again is the same amount with the other sign.
    expect(costDelta(head as CfnTemplate, base, inputsFor(production)).usd).toBeCloseTo(-38.69, 6);
  });
});
