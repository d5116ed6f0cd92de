import {
  CfnTemplate,
  headline,
  IMAGE_TAG_LABEL,
  LABELS,
  MigrationFile,
  MigrationSets,
  renderMarkdown,
  RULES,
  summarizeStack,
  SummarizeOptions,
} from '../../lib/diff';
import { IMAGE_TAG_LABEL as SERVICES_IMAGE_TAG_LABEL } from '../../lib/services';
import { changed } from './fixtures';
import { ruleTemplate } from './rule-fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BASE = ruleTemplate();
const summarize = (after: CfnTemplate, options: SummarizeOptions = {}) =>
  summarizeStack('ProductionStack', BASE, after, options);
const edit = (fn: (r: Json) => void) => changed(BASE, fn);

const migration = (name: string, sha256 = 'same'): MigrationFile => ({
  name,
  version: name.split('_')[0],
  sha256,
});
const BASE_MIGRATIONS = [
  migration('20240110090000_timeseries_support.up.sql'),
  migration('20240201090000_ml_predictions.up.sql'),
];

interface Case {
  readonly rule: string;
  readonly change: string;
  readonly after: CfnTemplate;
  readonly options?: SummarizeOptions;
  /** Expected first line of `npm run diff` (a regex on the headline). */
  readonly headline?: RegExp;
}

/** One template pair (at least) per rule of lib/diff/rules.ts. */
const CASES: readonly Case[] = [
  {
    rule: 'secret-regenerated',
    change: "a key added to the Betfair secret's SecretStringTemplate",
    after: edit((r) => {
      r.SecretsBetfair8559DB3B.Properties.GenerateSecretString.SecretStringTemplate =
        '{"app_key":"REPLACE_ME","username":"REPLACE_ME","cert_pem":""}';
    }),
    headline:
      /^⛔ Blocked: ProductionStack: secret `clever-better\/production\/betfair` would be regenerated$/,
  },
  {
    rule: 'secret-regenerated',
    change: "the database secret's master username",
    after: edit((r) => {
      r.SecretsDatabase1766CB05.Properties.GenerateSecretString.SecretStringTemplate = '{"username":"admin"}';
    }),
    headline:
      /^⛔ Blocked: ProductionStack: secret `clever-better\/production\/database` would be regenerated$/,
  },
  {
    rule: 'emergency-stop-disconnected',
    change: "a trigger alarm's Lambda action removed",
    after: edit((r) => {
      r.MonitoringBotLossLimit1A2B3C4D.Properties.AlarmActions = [{ Ref: 'AlertingOnCall8D8B76F5' }];
    }),
    headline:
      /^⛔ Blocked: ProductionStack: emergency stop disconnected from `clever-better-production-emergency-stop-loss-limit`$/,
  },
  {
    rule: 'emergency-stop-disconnected',
    change: 'ActionsEnabled: false on a trigger alarm',
    after: edit((r) => {
      r.MonitoringBotLossLimit1A2B3C4D.Properties.ActionsEnabled = false;
    }),
    headline: /emergency stop disconnected from `clever-better-production-emergency-stop-loss-limit`$/,
  },
  {
    rule: 'emergency-stop-disconnected',
    change: 'the trigger alarm deleted',
    after: edit((r) => {
      delete r.MonitoringBotLossLimit1A2B3C4D;
    }),
  },
  {
    rule: 'emergency-stop-disconnected',
    change: "the alarms' invoke permission removed",
    after: edit((r) => {
      delete r.OperationsStopFunctionAlarmPermission9A8B7C6D;
    }),
    headline: /emergency stop can no longer be invoked by its alarms$/,
  },
  {
    rule: 'bot-not-stop-first',
    change: 'the bot deploying 100/200',
    after: edit((r) => {
      r.ServicesBotService0E8F015B.Properties.DeploymentConfiguration = {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      };
    }),
    headline: /two bots trading at once$/,
  },
  {
    rule: 'bot-desired-count',
    change: 'DesiredCount on the bot service',
    after: edit((r) => {
      r.ServicesBotService0E8F015B.Properties.DesiredCount = 1;
    }),
    headline: /bot service would get a DesiredCount/,
  },
  {
    rule: 'rds-storage-shrink',
    change: 'RDS storage 100 → 50',
    after: edit((r) => {
      r.DatabaseInstanceAA8A5FDE.Properties.AllocatedStorage = '50';
    }),
    headline: /database storage would shrink 100 → 50 GiB/,
  },
  {
    rule: 'network-replaced',
    change: 'the VPC CIDR 10.1.0.0/16 → 10.2.0.0/16 with its subnets',
    after: edit((r) => {
      r.NetworkVpc7FB7348F.Properties.CidrBlock = '10.2.0.0/16';
      r.NetworkVpcPrivateSubnet1Subnet000.Properties.CidrBlock = '10.2.0.0/24';
      r.NetworkVpcPrivateSubnet2Subnet001.Properties.CidrBlock = '10.2.1.0/24';
      r.ServicesAlbSecurityGroupC89830CD.Properties.SecurityGroupIngress[0].CidrIp = '10.2.0.0/16';
    }),
    headline:
      /the VPC \(10\.1\.0\.0\/16 → 10\.2\.0\.0\/16\) would be replaced, moving \d+ resource\(s\) with it/,
  },
  {
    rule: 'fixed-name-collision',
    change: 'a renamed construct re-creating the retained bot log group',
    after: edit((r) => {
      r.ServicesBotLogGroupRenamed = r.ServicesBotLogsB4A7E746;
      delete r.ServicesBotLogsB4A7E746;
    }),
    headline:
      /`\/ecs\/clever-better-bot` would be re-created while the retained old one still holds its name/,
  },
  {
    rule: 'stateful-replaced',
    change: 'the Betfair secret renamed (replaced)',
    after: edit((r) => {
      r.SecretsBetfair8559DB3B.Properties.Name = 'clever-better/production/betfair-v2';
    }),
  },
  {
    rule: 'stateful-may-replace',
    change: "the database's AvailabilityZone",
    after: edit((r) => {
      r.DatabaseInstanceAA8A5FDE.Properties.AvailabilityZone = 'eu-west-1b';
    }),
    headline: /may be replaced \(AvailabilityZone\)/,
  },
  {
    rule: 'migration-out-of-order',
    change: 'a new migration below the base’s highest version',
    after: BASE,
    options: {
      migrations: {
        base: BASE_MIGRATIONS,
        head: [...BASE_MIGRATIONS, migration('20240115000000_hotfix.up.sql')],
      },
    },
    headline: /migration `20240115000000_hotfix.up.sql` is out of order \(below 20240201090000\)/,
  },
  {
    rule: 'emergency-stop-weakened',
    change: 'the emergency-stop role losing PutSecretValue',
    after: edit((r) => {
      r.OperationsEmergencyStopRoleDefaultPolicy5C1A2B3D.Properties.PolicyDocument.Statement[1].Action = [
        'secretsmanager:GetSecretValue',
      ];
    }),
  },
  {
    rule: 'live-trading-on',
    change: 'live_trading_enabled false → true',
    after: changed(BASE, () => undefined),
    options: {},
  },
  {
    rule: 'migration-edited',
    change: 'an applied migration edited',
    after: BASE,
    options: {
      migrations: {
        base: BASE_MIGRATIONS,
        head: [BASE_MIGRATIONS[0], migration('20240201090000_ml_predictions.up.sql', 'other')],
      },
    },
  },
  {
    rule: 'iam-wildcard',
    change: 'ecs:* on * for the bot task role',
    after: edit((r) => {
      r.ServicesBotTaskTaskRoleDefaultPolicy07609034.Properties.PolicyDocument.Statement.push({
        Effect: 'Allow',
        Action: 'ecs:*',
        Resource: '*',
      });
    }),
  },
  {
    rule: 'sg-world-open',
    change: 'egress to 0.0.0.0/0 on port 22',
    after: edit((r) => {
      r.ServicesAlbSecurityGroupC89830CD.Properties.SecurityGroupEgress = [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 22, ToPort: 22 },
      ];
    }),
  },
  {
    rule: 'ml-desired-count',
    change: 'DesiredCount on the ML service',
    after: edit((r) => {
      r.ServicesMlService25D5C526.Properties.DesiredCount = 2;
    }),
  },
  {
    rule: 'image-changed',
    change: 'the bot image tag v1.2.3 → v1.2.4',
    after: edit((r) => {
      r.ServicesBotTaskC531FB33.Properties.ContainerDefinitions[0].Image['Fn::Join'][1][7] = ':v1.2.4';
    }),
    headline: /^✅ No destructive change: ProductionStack: bot image v1.2.3 → v1.2.4$/,
  },
  {
    rule: 'task-definition-changed',
    change: "the bot's CPU",
    after: edit((r) => {
      r.ServicesBotTaskC531FB33.Properties.Cpu = '1024';
    }),
  },
  {
    rule: 'migration-added',
    change: 'a new migration above the base’s highest version',
    after: BASE,
    options: {
      migrations: {
        base: BASE_MIGRATIONS,
        head: [...BASE_MIGRATIONS, migration('20260101090000_bet_limits.up.sql')],
      },
    },
    headline: /^✅ No destructive change: ProductionStack: new migration `20260101090000_bet_limits.up.sql`$/,
  },
  {
    rule: 'iam-widening',
    change:
      'ListSecretVersionIds for the bot task role (PutSecretValue is a protection: protections.test.ts)',
    after: edit((r) => {
      r.ServicesBotTaskTaskRoleDefaultPolicy07609034.Properties.PolicyDocument.Statement[0].Action.push(
        'secretsmanager:ListSecretVersionIds',
      );
    }),
  },
  {
    rule: 'sg-widening',
    change: 'port 8080 from inside the VPC',
    after: edit((r) => {
      r.ServicesAlbSecurityGroupC89830CD.Properties.SecurityGroupIngress.push({
        CidrIp: '10.1.0.0/16',
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
      });
    }),
  },
  {
    rule: 'scaling-changed',
    change: 'ML max capacity 4 → 8',
    after: edit((r) => {
      r.ServicesMlTaskCountTarget9DD9E5B8.Properties.MaxCapacity = 8;
    }),
  },
  {
    rule: 'tags-only',
    change: 'one stack-wide tag',
    after: edit((r) => {
      for (const res of Object.values(r) as Json[]) {
        if (
          [
            'AWS::ECS::TaskDefinition',
            'AWS::ECR::Repository',
            'AWS::SecretsManager::Secret',
            'AWS::Logs::LogGroup',
            'AWS::EC2::VPC',
            'AWS::IAM::Role',
            'AWS::CloudWatch::Alarm',
          ].includes(res.Type)
        ) {
          res.Properties.Tags = [{ Key: 'cost-centre', Value: 'trading' }];
        }
      }
    }),
  },
  {
    rule: 'live-trading-changed',
    change: 'live_trading_enabled true → false',
    after: edit((r) => {
      r.SecretsConfig4EDE2024.Properties.SecretString = '{"live_trading_enabled":false}';
    }),
  },
  {
    rule: 'emergency-stop-changed',
    change: "the emergency-stop function's timeout",
    after: edit((r) => {
      r.OperationsStopFunction4F1E2D3C.Properties.Timeout = 60;
    }),
  },
  {
    rule: 'stateful-updated',
    change: 'RDS storage 100 → 200',
    after: edit((r) => {
      r.DatabaseInstanceAA8A5FDE.Properties.AllocatedStorage = '200';
    }),
  },
  {
    rule: 'resources-replaced',
    change: 'a stateless resource replaced',
    after: edit((r) => {
      r.ServicesAlbEE1BF5FE.Properties.Scheme = 'internet-facing';
    }),
  },
];

// live-trading-on needs its base to be off: the pair is built the other way round.
const LIVE_OFF = edit((r) => {
  r.SecretsConfig4EDE2024.Properties.SecretString = '{"live_trading_enabled":false}';
});
const run = (c: Case) =>
  c.rule === 'live-trading-on'
    ? summarizeStack('ProductionStack', LIVE_OFF, BASE, c.options)
    : summarize(c.after, c.options);

describe('diff rules: one template pair per rule', () => {
  test('every rule of the table has a case here, and every case names a rule of the table', () => {
    expect(new Set(CASES.map((c) => c.rule))).toEqual(new Set(RULES.map((r) => r.id)));
  });

  test('every rule has a reason and a source; every block names its override or says none passes it', () => {
    for (const rule of RULES) {
      expect([rule.id, rule.reason.length > 10, rule.source.length > 5]).toEqual([rule.id, true, true]);
      if (rule.severity !== 'block') expect([rule.id, rule.override]).toEqual([rule.id, undefined]);
    }
    expect(RULES.filter((r) => r.severity === 'block' && !r.override).map((r) => r.id)).toEqual([
      'rds-storage-shrink',
    ]);
  });

  describe.each(CASES.map((c) => [`${c.rule}: ${c.change}`, c] as const))('%s', (_, c) => {
    const { summary } = run(c);
    const rule = RULES.find((r) => r.id === c.rule)!;
    const mine = summary.findings.filter((f) => f.rule === c.rule);

    test(`is found with severity ${rule.severity}`, () => {
      expect(mine.length).toBeGreaterThan(0);
      expect(mine[0].severity).toBe(rule.severity);
    });

    test('is the first line of the output', () => {
      const first = headline([run(c)]);
      if (c.headline) expect(first).toMatch(c.headline);
      // The headline names this finding unless a more serious one of the same change comes first.
      const top = summary.findings[0];
      expect(first).toContain(top.headline);
    });

    if (rule.severity === 'block') {
      test(`fails the check, and only ${rule.override ? `\`${rule.override}\`` : 'no label'} lets it pass`, () => {
        expect(summary.blocked).toBe(true);
        const others = Object.values(LABELS).filter((l) => l !== rule.override);
        expect(run({ ...c, options: { ...c.options, labels: others } }).summary.blocked).toBe(true);
        if (rule.override) {
          const labels = [rule.override];
          expect(run({ ...c, options: { ...c.options, labels } }).summary.blocked).toBe(false);
        }
      });
    } else {
      test('does not fail the check', () => {
        expect(summary.blocked).toBe(false);
      });
    }
  });
});

describe('diff rules: wording and details', () => {
  const findings = (after: CfnTemplate, options?: SummarizeOptions) =>
    summarize(after, options).summary.findings;

  test('secret regeneration says what changes and what it breaks', () => {
    const [f] = findings(CASES[0].after);
    expect(f.message).toContain('SecretStringTemplate');
    expect(f.message).toContain('cancel-all');
    const [db] = findings(CASES[1].after);
    expect(db.message).toContain('not in the database');
  });

  test('a trigger disconnected together with a tag change still heads the comment', () => {
    const after = changed(CASES[2].after as Json, (r) => {
      for (const res of Object.values(r) as Json[]) {
        if (res.Type === 'AWS::IAM::Role') res.Properties.Tags = [{ Key: 'team', Value: 'x' }];
      }
    });
    const md = renderMarkdown([summarize(after)]);
    expect(md.split('\n')[1]).toBe(
      '### ⛔ Blocked: ProductionStack: emergency stop disconnected from `clever-better-production-emergency-stop-loss-limit`',
    );
  });

  test('a VPC CIDR change lists what moves with it, in one finding, and the rule move is not widening', () => {
    const s = summarize(CASES.find((c) => c.rule === 'network-replaced')!.after).summary;
    const network = s.findings.filter((f) => f.rule === 'network-replaced');
    expect(network).toHaveLength(1);
    for (const mover of [
      'RDS DBInstance `DatabaseInstanceAA8A5FDE`',
      'ECS Service `bot`',
      'ECS Service `ml-service`',
      'ElasticLoadBalancingV2 LoadBalancer `ServicesAlbEE1BF5FE`',
      'Lambda Function `MigrationsFunction052A01C8`',
    ]) {
      expect(network[0].message).toContain(mover);
    }
    expect(s.securityGroupWidening).toEqual([]);
    expect(s.findings.filter((f) => f.rule.startsWith('sg-'))).toEqual([]);
    // Subnets, route tables and security groups are inside that one line, not one line each.
    expect(s.findings.filter((f) => f.rule === 'resources-replaced')).toEqual([]);
  });

  test('storage changes show their direction', () => {
    const grows = findings(CASES.find((c) => c.rule === 'stateful-updated')!.after);
    expect(grows[0].message).toContain('AllocatedStorage 100 → 200 GiB (grows; it can never shrink back)');
    const shrinks = findings(CASES.find((c) => c.rule === 'rds-storage-shrink')!.after);
    expect(shrinks[0].message).toContain('storage **shrinks** 100 → 50 GiB');
  });

  test('"may be replaced" says may, and why', () => {
    const [f] = findings(CASES.find((c) => c.rule === 'stateful-may-replace')!.after);
    expect(f.message).toMatch(
      /^\*\*MAY be replaced\*\*: RDS DBInstance .*AvailabilityZone replaces the resource for some changes only/,
    );
  });

  test('a tag-only change is one line per stack, whatever the number of resources', () => {
    const after = CASES.find((c) => c.rule === 'tags-only')!.after;
    const s = summarize(after).summary;
    expect(s.findings).toHaveLength(1);
    expect(s.findings[0].message).toMatch(/^Tags only: `cost-centre` changed on \d+ resource\(s\)/);
    expect(s.findings[0].message).toContain('(in place, no interruption)');
    // Task definitions among them are not also a "task definition changed" line.
    expect(s.findings.filter((f) => f.rule === 'task-definition-changed')).toEqual([]);
    expect(headline([summarize(after)])).toMatch(
      /^✅ No destructive change: ProductionStack: tags changed on/,
    );
  });

  test('the live-trading change is listed once (not again as a stateful update of its secret)', () => {
    const s = summarizeStack('ProductionStack', LIVE_OFF, BASE).summary;
    expect(s.findings.map((f) => f.rule)).toEqual(['live-trading-on']);
  });

  test('findings use physical names; logical ids stay in the raw diff', () => {
    const md = renderMarkdown([summarize(CASES[2].after)]);
    const summaryPart = md.slice(0, md.indexOf('<details>'));
    expect(summaryPart).toContain('clever-better-production-emergency-stop-loss-limit');
    expect(summaryPart).not.toContain('MonitoringBotLossLimit1A2B3C4D');
    expect(md.slice(md.indexOf('<details>'))).toContain('MonitoringBotLossLimit1A2B3C4D');
  });

  test('a renamed secret lists the task definition and roles that would read its placeholder values', () => {
    const [f] = findings(CASES.find((c) => c.rule === 'stateful-replaced')!.after);
    expect(f.message).toContain('placeholder values');
    expect(f.message).toContain('ECS TaskDefinition `clever-better-bot`');
  });

  test('a renamed construct with a fixed name is one finding, not also a deletion', () => {
    const s = summarize(CASES.find((c) => c.rule === 'fixed-name-collision')!.after).summary;
    expect(s.findings.filter((f) => f.severity === 'block').map((f) => f.rule)).toEqual([
      'fixed-name-collision',
    ]);
  });

  test('an alarm renamed in the construct tree but still invoking the stop is not a disconnection', () => {
    const after = edit((r) => {
      r.MonitoringRenamedLossLimit = r.MonitoringBotLossLimit1A2B3C4D;
      delete r.MonitoringBotLossLimit1A2B3C4D;
    });
    expect(findings(after).filter((f) => f.rule === 'emergency-stop-disconnected')).toEqual([]);
  });

  test('a stop-first bot whose settings do not change is not reported', () => {
    expect(findings(edit(() => undefined))).toEqual([]);
  });

  test('out-of-order is only judged against the base files; a deployed base lists new files above its version', () => {
    const sets: MigrationSets = { head: [...BASE_MIGRATIONS, migration('20260101090000_new.up.sql')] };
    const f = findings(BASE, { migrations: sets });
    expect(f.map((x) => x.rule)).toEqual(['migration-added']);
  });
});

describe('diff rules: images by tag and by digest', () => {
  const D1 = `sha256:${'a'.repeat(64)}`;
  const D2 = `sha256:${'b'.repeat(64)}`;
  const withImage = (image: string) =>
    edit((r) => {
      r.ServicesBotTaskC531FB33.Properties.ContainerDefinitions[0].Image = image;
    });
  const repo = '222222222222.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot';
  const imageFinding = (from: string, to: string) =>
    summarizeStack('ProductionStack', withImage(from), withImage(to)).summary.findings.filter(
      (f) => f.rule === 'image-changed',
    );

  test.each([
    ['tag → tag', `${repo}:v1.2.3`, `${repo}:v1.2.4`, 'Bot image `v1.2.3` → `v1.2.4` (container app)'],
    [
      'tag → digest pin',
      `${repo}:v1.2.3`,
      `${repo}@${D1}`,
      'Bot image `v1.2.3` → `sha256:aaaaaaaaaaaa…` (container app)',
    ],
    [
      'tag@digest → tag@digest',
      `${repo}:v1.2.3@${D1}`,
      `${repo}:v1.2.4@${D2}`,
      'Bot image `v1.2.3@sha256:aaaaaaaaaaaa…` → `v1.2.4@sha256:bbbbbbbbbbbb…` (container app)',
    ],
    [
      'digest → digest',
      `${repo}@${D1}`,
      `${repo}@${D2}`,
      'Bot image `sha256:aaaaaaaaaaaa…` → `sha256:bbbbbbbbbbbb…`',
    ],
  ])('%s', (_, from, to, text) => {
    const [f] = imageFinding(from, to);
    expect(f.message).toContain(text);
  });

  test('a digest pin shows the tag from its label (lib/services.ts), old → new', () => {
    const pinned = (digest: string, tag: string) =>
      edit((r) => {
        const c = r.ServicesBotTaskC531FB33.Properties.ContainerDefinitions[0];
        c.Image = `${repo}@${digest}`;
        c.DockerLabels = { [IMAGE_TAG_LABEL]: tag };
      });
    const s = summarizeStack('ProductionStack', pinned(D1, 'v1.2.3'), pinned(D2, 'v1.2.4')).summary;
    expect(s.findings.map((f) => f.message)).toEqual([
      'Bot image `v1.2.3@sha256:aaaaaaaaaaaa…` → `v1.2.4@sha256:bbbbbbbbbbbb…` (container app)',
    ]);
    expect(IMAGE_TAG_LABEL).toBe(SERVICES_IMAGE_TAG_LABEL);
  });

  test('the same digest under a new tag label is the same image: no finding', () => {
    expect(imageFinding(`${repo}:v1.2.3@${D1}`, `${repo}:v1.2.3-promoted@${D1}`)).toEqual([]);
  });
});
