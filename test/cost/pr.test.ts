/**
 * The cost line of the pull-request comment (`npm run diff`, lib/diff/cli.ts → lib/cost/pr.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environments } from '../../environments';
import { CfnTemplate } from '../../lib/diff';
import { DiffDeps, EXIT, runDiff } from '../../lib/diff/cli';
import { appTemplate, changed } from '../diff/fixtures';

const made: string[] = [];
afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A cloud assembly as `cdk synth` writes it: manifest.json plus one template per stack. */
function assembly(stacks: Record<string, CfnTemplate>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-pr-'));
  made.push(dir);
  const artifacts: Record<string, unknown> = {};
  for (const [name, template] of Object.entries(stacks)) {
    fs.writeFileSync(path.join(dir, `${name}.template.json`), JSON.stringify(template));
    artifacts[name] = {
      type: 'aws:cloudformation:stack',
      environment: 'aws://222222222222/eu-west-1',
      properties: { templateFile: `${name}.template.json` },
      displayName: name,
    };
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '48.0.0', artifacts }));
  return dir;
}

// The production stack always has NAT gateways; with none, the first one would also bring the
// profile's processed-GB total along.
const BASE = changed(appTemplate(), (r) => {
  r.BaseEip = { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc' } };
  r.BaseNat = {
    Type: 'AWS::EC2::NatGateway',
    Properties: { AllocationId: { 'Fn::GetAtt': ['BaseEip', 'AllocationId'] } },
  };
});
/** `count` more NAT gateways, each with its Elastic IP, as the network construct adds them. */
const withNats = (count: number) =>
  changed(BASE, (r) => {
    for (let i = 0; i < count; i++) {
      r[`ExtraEip${i}`] = { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc' } };
      r[`ExtraNat${i}`] = {
        Type: 'AWS::EC2::NatGateway',
        Properties: {
          AllocationId: { 'Fn::GetAtt': [`ExtraEip${i}`, 'AllocationId'] },
          SubnetId: `subnet-${i}`,
        },
      };
    }
  });

async function diff(head: CfnTemplate): Promise<{ code: number; out: string; md: string }> {
  const out: string[] = [];
  const mdFile = path.join(assembly({}), 'comment.md');
  const deps: DiffDeps = {
    projectRoot: path.resolve(__dirname, '..', '..'),
    synthesize: () => Promise.reject(new Error('not used: both sides are given')),
    resolveRef: () => 'unused',
    exportCommit: () => undefined,
    appStackNames: () => ['ProductionStack'],
    deployedTemplate: () => Promise.reject(new Error('not used')),
    out: (t) => out.push(t),
    err: () => undefined,
  };
  const code = await runDiff(
    [
      '--base-dir',
      assembly({ ProductionStack: BASE }),
      '--head-dir',
      assembly({ ProductionStack: head }),
      '--markdown',
      mdFile,
    ],
    deps,
  );
  return { code, out: out.join(''), md: fs.readFileSync(mdFile, 'utf8') };
}

describe('pull-request comment: cost line', () => {
  test('a change that adds a NAT gateway in production shows +$38.69/month as info, in the comment and the text', async () => {
    const { code, out, md } = await diff(withNats(1));
    // By hand: 730 h × $0.048 (NAT gateway) + 730 h × $0.005 (its Elastic IP) = $35.04 + $3.65 = $38.69.
    const line =
      '+$38.69/month in production (NAT gateway hour +$35.04, Public IPv4 address in use (Elastic IP, internet-facing load balancer node) +$3.65) (estimate: docs/cost.md)';
    expect(md).toContain(`- ℹ️ ${line} (\`cost-delta\`)`);
    expect(out).toContain(line);
    expect(code).toBe(EXIT.ok);
  });

  test('removing it shows the same amount with a minus sign', async () => {
    const out: string[] = [];
    const deps: DiffDeps = {
      projectRoot: path.resolve(__dirname, '..', '..'),
      synthesize: () => Promise.reject(new Error('unused')),
      resolveRef: () => 'unused',
      exportCommit: () => undefined,
      appStackNames: () => ['ProductionStack'],
      deployedTemplate: () => Promise.reject(new Error('unused')),
      out: (t) => out.push(t),
      err: () => undefined,
    };
    await runDiff(
      [
        '--base-dir',
        assembly({ ProductionStack: withNats(1) }),
        '--head-dir',
        assembly({ ProductionStack: BASE }),
      ],
      deps,
    );
    expect(out.join('')).toContain('-$38.69/month in production (NAT gateway hour -$35.04,');
  });

  test("above production's cost.warnAboveUsdPerMonth ($100) the line is a warning, and still never blocks", async () => {
    const production = environments.find((e) => e.name === 'production')!;
    expect(production.cost.warnAboveUsdPerMonth).toBe(100);
    // Three gateways: 3 × $38.69 = $116.07, above $100.
    const { code, md } = await diff(withNats(3));
    expect(md).toContain(
      '- ⚠️ +$116.07/month in production (NAT gateway hour +$105.12, Public IPv4 address in use (Elastic IP, internet-facing load balancer node) +$10.95): above the $100.00 a month of cost.warnAboveUsdPerMonth (docs/cost.md) (`cost-delta`)',
    );
    expect(code).toBe(EXIT.ok);
  });

  test('a change that moves no price adds no cost line', async () => {
    const { md } = await diff(
      changed(BASE, (r) => {
        r.SecretsConfig4EDE2024.Properties.Description = 'another description';
      }),
    );
    expect(md).not.toContain('cost-delta');
  });
});

describe('pull-request comment: task counts come from each side', () => {
  // Both services on Fargate, as the app synthesizes them (the shared fixture leaves LaunchType out).
  const onFargate = (template: CfnTemplate, mlMinimum: number) =>
    changed(template, (r) => {
      r.ServicesBotService0E8F015B.Properties.LaunchType = 'FARGATE';
      r.ServicesMlService25D5C526.Properties.LaunchType = 'FARGATE';
      r.ServicesMlTaskCountTarget9DD9E5B8.Properties.MinCapacity = mlMinimum;
    });

  async function diffPair(base: CfnTemplate, head: CfnTemplate): Promise<string> {
    const out: string[] = [];
    const deps: DiffDeps = {
      projectRoot: path.resolve(__dirname, '..', '..'),
      synthesize: () => Promise.reject(new Error('unused')),
      resolveRef: () => 'unused',
      exportCommit: () => undefined,
      appStackNames: () => ['ProductionStack'],
      deployedTemplate: () => Promise.reject(new Error('unused')),
      out: (t) => out.push(t),
      err: () => undefined,
    };
    await runDiff(
      ['--base-dir', assembly({ ProductionStack: base }), '--head-dir', assembly({ ProductionStack: head })],
      deps,
    );
    return out.join('');
  }

  test("lowering the ml-service's autoscaling minimum from 2 to 1 shows -$72.08/month, whatever the config says", async () => {
    const production = environments.find((e) => e.name === 'production')!;
    // The working tree's config says 2: before the fix both sides were priced with it (no change).
    expect(production.ml.desiredCount).toBe(2);
    const out = await diffPair(onFargate(BASE, 2), onFargate(BASE, 1));
    // By hand: one ml task fewer (2048 CPU units = 2 vCPU, 4096 MiB = 4 GB) × 730 h:
    // 730 × 2 × $0.04048 (Fargate vCPU-hour) = $59.1008, 730 × 4 × $0.004445 (Fargate GB-hour) = $12.9794,
    // together -$72.0802 → -$72.08. The bot's count (no DesiredCount, no scaling) is the config's on
    // both sides, and the line says so.
    expect(out).toContain(
      "-$72.08/month in production (Fargate vCPU-hour (Linux/x86) -$59.10, Fargate GB-hour (Linux/x86) -$12.98; bot task count from the head's config desiredCount, the same on both sides) (estimate: docs/cost.md)",
    );
  });

  test("a usage line that moves is labelled as priced with the head's usage assumptions", async () => {
    // The first NAT gateway brings the profile's processed GB along: production's
    // natProcessedGbPerMonth 300 × $0.048 = $14.40 of usage, plus $35.04 + $3.65 fixed = +$53.09.
    const out = await diffPair(appTemplate(), BASE);
    expect(out).toContain(
      "+$53.09/month in production (NAT gateway hour +$35.04, NAT gateway data processed +$14.40, Public IPv4 address in use (Elastic IP, internet-facing load balancer node) +$3.65; usage lines +$14.40: usage assumptions from the head's config)",
    );
  });

  test('raising it from 1 to 3 shows twice that amount with a plus sign', async () => {
    const out = await diffPair(onFargate(BASE, 1), onFargate(BASE, 3));
    // 2 × $72.0802 = $144.1604: above production's $100, so a warning.
    expect(out).toContain(
      '+$144.16/month in production (Fargate vCPU-hour (Linux/x86) +$118.20, Fargate GB-hour (Linux/x86) +$25.96;',
    );
  });
});
