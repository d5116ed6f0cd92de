import fc from 'fast-check';
import {
  blocks,
  CfnResource,
  CfnTemplate,
  Finding,
  Protection,
  protectionRuleId,
  PROTECTIONS,
  referencedIds,
  resourcesOf,
  subjectOf,
  summarizeStack,
  topicUrgency,
} from '../../lib/diff';
import { WORST_CASE_RUN_MS } from '../../lambda/emergency-stop/budget';
import { synthesized } from '../helpers/app';

// Every row of the protections table (lib/diff/protections.ts), walked generically on the real
// production template: a generated weakening of the row's property blocks in production with the
// row's label (and only that label lets it pass), warns in staging, and a generated strengthening
// is info. A new row without a generator fails here, so the next protection is tested too.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The real ProductionStack template, cut to the resource types the rows read and what those refer
 * to (each summary then takes a fraction of a second; the rows see the real shapes and names).
 */
const TEMPLATE: CfnTemplate = (() => {
  const full = synthesized('production').template.toJSON() as CfnTemplate;
  const res = resourcesOf(full);
  const types = new Set([
    ...PROTECTIONS.map((p) => p.type),
    'AWS::CloudWatch::CompositeAlarm',
    'AWS::SNS::Topic',
    'AWS::IAM::Role',
    'AWS::IAM::Policy',
    'AWS::ECS::Service',
    'AWS::ECS::TaskDefinition',
  ]);
  const keep = new Set(Object.keys(res).filter((id) => types.has(res[id].Type)));
  for (const id of [...keep])
    for (const ref of referencedIds(res[id].Properties)) if (res[ref]) keep.add(ref);
  return { ...full, Resources: Object.fromEntries([...keep].map((id) => [id, res[id]])) };
})();

const copy = (t: CfnTemplate): Json => JSON.parse(JSON.stringify(t));
const resourcesOfType = (t: CfnTemplate, row: Protection) =>
  Object.keys(resourcesOf(t)).filter((id) => resourcesOf(t)[id].Type === row.type && row.applies(t, id));
const write = (row: Protection, r: CfnResource, v: unknown) => {
  if (row.write) row.write(r, v);
  else if (v === undefined) delete (r.Properties as Json)[row.property];
  else (r.Properties as Json)[row.property] = v;
};

/** A template pair: `before` and `after` of one change, and which rows' examples it uses. */
interface Pair {
  readonly before: CfnTemplate;
  readonly after: CfnTemplate;
}

/** Sets the row's property of `id` to `a` before and `b` after. */
function valuePair(row: Protection, id: string, a: unknown, b: unknown): Pair {
  const [before, after] = [copy(TEMPLATE), copy(TEMPLATE)];
  write(row, before.Resources[id], a);
  write(row, after.Resources[id], b);
  return labelled({ before, after }, `${id}.${row.property}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
}

/** A counterexample prints as what changed, not as two whole templates. */
function labelled(p: Pair, text: string): Pair {
  return Object.assign(p, { [fc.toStringMethod]: () => text });
}

/** Applies `edit` to the head only. */
function edited(edit: (r: Json) => void, base: (r: Json) => void = () => undefined): Pair {
  const [before, after] = [copy(TEMPLATE), copy(TEMPLATE)];
  base(before.Resources);
  base(after.Resources);
  edit(after.Resources);
  return labelled({ before, after }, `edited: ${edit.toString().slice(0, 200)}`);
}
const swap = (p: Pair): Pair => labelled({ before: p.after, after: p.before }, `reversed ${String(p)}`);

/** Weakening and strengthening arbitraries for one row; `strengthen` undefined when none exists. */
interface Generator {
  readonly weaken: fc.Arbitrary<Pair>;
  readonly strengthen?: fc.Arbitrary<Pair>;
  /** A change of the row's property that neither weakens nor strengthens (rows without a strengthening). */
  readonly neutral?: Pair;
}

const topics = () => {
  const urgency = topicUrgency(resourcesOf(TEMPLATE));
  const of = (u: string) => [...urgency].find(([, v]) => v === u)![0];
  return { page: of('page'), ticket: of('ticket') };
};
const pagingAlarm = () => {
  const { page } = topics();
  return Object.keys(resourcesOf(TEMPLATE)).find((id) => {
    const r = resourcesOf(TEMPLATE)[id];
    return (
      r.Type === 'AWS::CloudWatch::Alarm' &&
      referencedIds(r.Properties?.AlarmActions).has(page) &&
      referencedIds(r.Properties?.OKActions).size > 0
    );
  })!;
};
/** A role by its logical-id prefix (the test app records no construct paths). */
const roleOf = (prefix: string) =>
  Object.keys(resourcesOf(TEMPLATE)).find(
    (id) => resourcesOf(TEMPLATE)[id].Type === 'AWS::IAM::Role' && id.startsWith(prefix),
  ) ?? fail(`no role ${prefix}* in the production template`);
const secretNamed = (suffix: string) =>
  Object.keys(resourcesOf(TEMPLATE)).find((id) =>
    String(resourcesOf(TEMPLATE)[id].Properties?.Name ?? '').endsWith(suffix),
  )!;
const grant = (roleId: string, actions: string[], secretId: string) => (r: Json) => {
  r.ExtraGrantPolicy = {
    Type: 'AWS::IAM::Policy',
    Properties: {
      PolicyName: 'extra',
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: actions, Resource: { Ref: secretId } }],
      },
    },
  };
};

/** Generators by the row's declared direction; rows that compare themselves have one each, by id. */
function generatorFor(row: Protection): Generator {
  const ids = resourcesOfType(TEMPLATE, row);
  const id = ids[0];
  const r = id ? resourcesOf(TEMPLATE)[id] : undefined;
  const value = Number(row.read(r) ?? 1);
  const step = fc.integer({ min: 1, max: 10_000 });
  const d = row.direction;
  switch (d.kind) {
    case 'higher':
      return {
        weaken: step.map((s) => valuePair(row, id, value, value + s)),
        strengthen: step.map((s) => valuePair(row, id, value + s, value)),
      };
    case 'lower':
      return {
        weaken: fc.integer({ min: 0, max: value - 1 }).map((v) => valuePair(row, id, value, v)),
        strengthen: step.map((s) => valuePair(row, id, value, value + s)),
      };
    case 'away-from-alarm': {
      const up = !/^LessThan/.test(String(r?.Properties?.ComparisonOperator));
      return {
        weaken: step.map((s) => valuePair(row, id, value, up ? value + s : value - s)),
        strengthen: step.map((s) => valuePair(row, id, up ? value + s : value - s, value)),
      };
    }
    case 'leaves': {
      const others =
        typeof d.strong === 'boolean'
          ? fc.constant(!d.strong)
          : fc.constantFrom('notBreaching', 'ignore', 'missing');
      return {
        weaken: others.map((o) => valuePair(row, id, d.strong, o)),
        strengthen: others.map((o) => valuePair(row, id, o, d.strong)),
      };
    }
    case 'members-removed': {
      const list = (r?.Properties?.[row.property] ?? []) as unknown[];
      const extra = { Ref: topics().ticket };
      return {
        weaken: fc.integer({ min: 0, max: list.length - 1 }).map((i) =>
          valuePair(
            row,
            id,
            list,
            list.filter((_, j) => j !== i),
          ),
        ),
        strengthen: fc.constant(valuePair(row, id, list, [...list, extra])),
      };
    }
    case 'changed':
      return {
        weaken: fc
          .integer({ min: 1, max: 0xffffff })
          .map((n) => n.toString(16))
          .map((h) =>
            valuePair(
              row,
              id,
              'arn:aws:kms:eu-west-1:222222222222:key/a',
              `arn:aws:kms:eu-west-1:222222222222:key/new-${h}`,
            ),
          ),
      };
    case 'custom':
      return (
        CUSTOM[row.id]?.(id) ?? fail(`protection ${row.id} has no generator in protections.test.ts: add one`)
      );
  }
}

function fail(message: string): never {
  throw new Error(message);
}

const budget = Math.ceil(WORST_CASE_RUN_MS / 1000);

const CUSTOM: Record<string, (id: string) => Generator> = {
  // Any change of what a stop trigger reads is a weakening: there is no strengthening.
  'stop-metric': (id) => {
    const renamed = (p: Json, what: string) => {
      const [m] = p.Metrics ?? [];
      const stat = m?.MetricStat ?? p.Metrics?.find((x: Json) => x.MetricStat)?.MetricStat;
      switch (what) {
        case 'MetricName':
          if (stat) stat.Metric.MetricName = 'NobodyPublishesThis';
          else p.MetricName = 'NobodyPublishesThis';
          break;
        case 'Namespace':
          if (stat) stat.Metric.Namespace = 'Elsewhere';
          else p.Namespace = 'Elsewhere';
          break;
        case 'Dimensions':
          if (stat) stat.Metric.Dimensions = [{ Name: 'Stage', Value: 'nowhere' }];
          else p.Dimensions = [{ Name: 'Stage', Value: 'nowhere' }];
          break;
        case 'Statistic':
          if (stat) stat.Stat = stat.Stat === 'SampleCount' ? 'Minimum' : 'SampleCount';
          else if (p.Statistic) p.Statistic = p.Statistic === 'SampleCount' ? 'Minimum' : 'SampleCount';
          else p.ExtendedStatistic = 'p1';
          break;
        case 'ComparisonOperator':
          p.ComparisonOperator = /^LessThan/.test(p.ComparisonOperator)
            ? 'GreaterThanThreshold'
            : 'LessThanThreshold';
          break;
        case 'Metrics':
          // Metric math over a metric nobody publishes.
          for (const k of ['MetricName', 'Namespace', 'Dimensions', 'Statistic', 'ExtendedStatistic', 'Unit'])
            delete p[k];
          delete p.Period;
          p.Metrics = [
            {
              Id: 'm',
              ReturnData: true,
              MetricStat: {
                Metric: { Namespace: 'Elsewhere', MetricName: 'NobodyPublishesThis' },
                Period: 60,
                Stat: 'Sum',
              },
            },
          ];
          break;
      }
    };
    return {
      weaken: fc
        .constantFrom('MetricName', 'Namespace', 'Dimensions', 'Statistic', 'ComparisonOperator', 'Metrics')
        .map((what) => edited((r) => renamed(r[id].Properties, what))),
      neutral: edited((r) => (r[id].Properties.AlarmDescription = 'reworded')),
    };
  },
  'stop-timeout': (id) => ({
    weaken: fc.integer({ min: 1, max: budget - 1 }).map((t) => edited((r) => (r[id].Properties.Timeout = t))),
    strengthen: fc.integer({ min: budget, max: 900 }).map((t) =>
      edited(
        (r) => (r[id].Properties.Timeout = t),
        (r) => (r[id].Properties.Timeout = budget - 1),
      ),
    ),
  }),
  'stop-reserved-concurrency': (id) => ({
    weaken: fc
      .constantFrom(undefined, 0, 2, 5)
      .map((c) =>
        edited((r) =>
          c === undefined
            ? delete r[id].Properties.ReservedConcurrentExecutions
            : (r[id].Properties.ReservedConcurrentExecutions = c),
        ),
      ),
    strengthen: fc.constant(swap(edited((r) => delete r[id].Properties.ReservedConcurrentExecutions))),
  }),
  'alarm-routing': () => {
    const alarm = pagingAlarm();
    const { page, ticket } = topics();
    const demote = (r: Json) =>
      (r[alarm].Properties.AlarmActions = r[alarm].Properties.AlarmActions.map((a: Json) =>
        a.Ref === page ? { Ref: ticket } : a,
      ));
    return {
      weaken: fc
        .constantFrom('ticket', 'nobody')
        .map((to) =>
          edited((r) => (to === 'ticket' ? demote(r) : (r[alarm].Properties.ActionsEnabled = false))),
        ),
      strengthen: fc.constant(swap(edited(demote))),
    };
  },
  'alarm-ok-to-pager': () => {
    const alarm = pagingAlarm();
    return {
      weaken: fc.constant(edited((r) => delete r[alarm].Properties.OKActions)),
      strengthen: fc.constant(swap(edited((r) => delete r[alarm].Properties.OKActions))),
    };
  },
  'sns-subscription': () => {
    const subs = Object.keys(resourcesOf(TEMPLATE)).filter(
      (s) => resourcesOf(TEMPLATE)[s].Type === 'AWS::SNS::Subscription',
    );
    return {
      weaken: fc.constantFrom(...subs).map((s) => edited((r) => delete r[s])),
      strengthen: fc.constantFrom(...subs).map((s) => swap(edited((r) => delete r[s]))),
    };
  },
  'rds-engine-major': (id) => ({
    weaken: fc.constantFrom(18, 19, 16).map((major) =>
      edited((r) => {
        r[id].Properties.EngineVersion = String(major);
        r[id].Properties.AllowMajorVersionUpgrade = true;
      }),
    ),
    neutral: edited(
      (r) => (r[id].Properties.EngineVersion = `${String(r[id].Properties.EngineVersion).split('.')[0]}.9`),
    ),
  }),
  'log-retention': (id) => ({
    weaken: fc
      .constantFrom(1, 3, 5, 7, 14, 30, 60)
      .map((d) => edited((r) => (r[id].Properties.RetentionInDays = d))),
    strengthen: fc
      .constantFrom(180, 365, undefined)
      .map((d) =>
        edited((r) =>
          d === undefined ? delete r[id].Properties.RetentionInDays : (r[id].Properties.RetentionInDays = d),
        ),
      ),
  }),
  'sg-world-ingress': (id) => {
    const open = (cidr: string, port: number) => (r: Json) =>
      (r[id].Properties.SecurityGroupIngress = [
        ...(r[id].Properties.SecurityGroupIngress ?? []),
        cidr.includes(':')
          ? { CidrIpv6: cidr, IpProtocol: 'tcp', FromPort: port, ToPort: port }
          : { CidrIp: cidr, IpProtocol: 'tcp', FromPort: port, ToPort: port },
      ]);
    const rule = fc.tuple(fc.constantFrom('0.0.0.0/0', '::/0'), fc.integer({ min: 1, max: 65535 }));
    return {
      weaken: rule.map(([cidr, port]) => edited(open(cidr, port))),
      strengthen: rule.map(([cidr, port]) => swap(edited(open(cidr, port)))),
    };
  },
  'config-secret-writers': () => {
    const role = roleOf('ServicesMlTaskTaskRole');
    const secret = secretNamed('/config');
    const action = fc.constantFrom(
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecret',
      'secretsmanager:*',
      '*',
    );
    return {
      weaken: action.map((a) => edited(grant(role, [a], secret))),
      strengthen: action.map((a) => swap(edited(grant(role, [a], secret)))),
    };
  },
  'betfair-secret-readers': () => {
    const role = roleOf('ServicesMlTaskTaskRole');
    const secret = secretNamed('/betfair');
    const action = fc.constantFrom(
      'secretsmanager:GetSecretValue',
      'secretsmanager:Get*',
      'secretsmanager:*',
    );
    return {
      weaken: action.map((a) => edited(grant(role, [a], secret))),
      strengthen: action.map((a) => swap(edited(grant(role, [a], secret)))),
    };
  },
};

/** Runs per property: each is a full summary of a real template pair (~0.2 s). */
const RUNS = { numRuns: 2 };
/** Rules that report a replacement: a strengthening that replaces is still blocked by them. */
const REPLACEMENT_RULES = ['stateful-replaced', 'stateful-may-replace', 'fixed-name-collision'];
const summary = (p: Pair, stack = 'ProductionStack') => summarizeStack(stack, p.before, p.after).summary;
const mine = (row: Protection, findings: readonly Finding[]) =>
  findings.filter((f) => f.rule === protectionRuleId(row));
const worst = (findings: readonly Finding[]) =>
  findings.some((f) => f.severity === 'block')
    ? 'block'
    : findings.some((f) => f.severity === 'warn')
      ? 'warn'
      : findings.length
        ? 'info'
        : 'none';

describe.each(PROTECTIONS.map((row) => [row.id, row] as const))('protection %s', (_, row) => {
  const gen = generatorFor(row);

  test('the real production template has something it covers (the walk is not vacuous)', () => {
    const covered =
      row.direction.kind === 'custom' &&
      [
        'sns-subscription',
        'config-secret-writers',
        'betfair-secret-readers',
        'alarm-routing',
        'alarm-ok-to-pager',
      ].includes(row.id)
        ? true
        : resourcesOfType(TEMPLATE, row).length > 0;
    expect([row.id, covered]).toEqual([row.id, true]);
  });

  test(`a weakening blocks in production; only \`${row.label}\` lets it pass`, () => {
    fc.assert(
      fc.property(gen.weaken, (pair) => {
        const s = summary(pair);
        expect(s.blocked).toBe(true);
        const blocking = s.findings.filter((f) => f.severity === 'block');
        expect(blocking.every((f) => blocks(f, new Set()) && !blocks(f, new Set([row.label])))).toBe(true);
        const others = new Set(
          ['allow-destructive', 'override-trading-safety', 'allow-public-ingress'].filter(
            (l) => l !== row.label,
          ),
        );
        expect(blocking.some((f) => blocks(f, others))).toBe(true);
      }),
      RUNS,
    );
  });

  test('the same weakening warns in staging and does not block there by itself', () => {
    fc.assert(
      fc.property(gen.weaken, (pair) => {
        const s = summary(pair, 'StagingStack');
        expect(worst(s.findings)).not.toBe('info');
        expect(worst(s.findings)).not.toBe('none');
        expect(mine(row, s.findings).every((f) => f.severity === 'warn')).toBe(true);
      }),
      RUNS,
    );
  });

  if (gen.strengthen) {
    test('a strengthening is info, named by this row, and never blocks or warns', () => {
      fc.assert(
        fc.property(gen.strengthen!, (pair) => {
          const s = summary(pair);
          // Only a replacement the same change forces may block (StorageEncrypted false → true
          // replaces the database, whose fixed name then collides).
          const serious = s.findings.filter((f) => f.severity !== 'info');
          expect(serious.map((f) => f.rule).filter((r) => !REPLACEMENT_RULES.includes(r))).toEqual([]);
          expect(mine(row, s.findings).map((f) => f.severity)).toContainEqual('info');
          expect(mine(row, s.findings).every((f) => f.severity === 'info')).toBe(true);
        }),
        RUNS,
      );
    });
  } else {
    test('has no strengthening (any change replaces or cannot be undone); a neutral change is not reported by it', () => {
      expect(['changed', 'custom']).toContain(row.direction.kind);
      if (gen.neutral) expect(mine(row, summary(gen.neutral).findings)).toEqual([]);
    });
  }
});

describe('protection findings read as the issue asks', () => {
  test('tenfold production thresholds name each alarm with from → to', () => {
    const ids = Object.keys(resourcesOf(TEMPLATE)).filter((id) => PROTECTIONS[0].applies(TEMPLATE, id));
    const pair = edited((r) => {
      for (const id of ids) r[id].Properties.Threshold = Number(r[id].Properties.Threshold) * 10;
    });
    const s = summary(pair);
    const lines = mine(PROTECTIONS[0], s.findings);
    expect(lines.length).toBe(ids.length);
    expect(lines.map((f) => f.message).join('\n')).toMatch(
      /Alarm `clever-better-production-emergency-stop-exposure`: Threshold 1000 → 10000/,
    );
    // Physical names, never logical ids.
    for (const f of lines) expect(f.message).not.toMatch(/[A-Z][A-Za-z]+[0-9A-F]{8}\b/);
  });

  test('a stop timeout below its step budgets says so, from the budgets in lambda/emergency-stop/budget.ts', () => {
    const [fn] = resourcesOfType(
      TEMPLATE,
      PROTECTIONS.find((p) => p.id === 'stop-timeout')!,
    );
    const s = summary(edited((r) => (r[fn].Properties.Timeout = 10)));
    const [f] = s.findings.filter((x) => x.rule === 'protection:stop-timeout');
    expect(f.message).toContain(`Timeout 60 s → 10 s, below the ${budget} s its steps need`);
    expect(f.headline).toMatch(
      new RegExp(`weakened: Timeout 60 s → 10 s, below the ${budget} s its steps need$`),
    );
    // A generated name: the finding says which stack output gives it (ops reads that output).
    expect(f.message).toContain('(generated name: stack output `EmergencyStopFunctionName`)');
  });

  test("ml-service's write grant on the config secret names the secret and the role", () => {
    const role = roleOf('ServicesMlTaskTaskRole');
    const s = summary(edited(grant(role, ['secretsmanager:PutSecretValue'], secretNamed('/config'))));
    const [f] = s.findings.filter((x) => x.rule === 'protection:config-secret-writers');
    expect(f.message).toMatch(
      /`ServicesMlTaskTaskRole[0-9A-F]{8}` may now write `clever-better\/production\/config`/,
    );
    expect(f.headline).toMatch(/^secret `clever-better\/production\/config` weakened/);
    expect(f.message).toContain('a second writer can undo a stop');
  });

  test('the emergency stop and the operator role writing the flag are by design: not reported', () => {
    const role = Object.keys(resourcesOf(TEMPLATE)).find(
      (id) => resourcesOf(TEMPLATE)[id].Properties?.RoleName === 'clever-better-operator',
    )!;
    const s = summary(edited(grant(role, ['secretsmanager:PutSecretValue'], secretNamed('/config'))));
    expect(s.findings.filter((x) => x.rule === 'protection:config-secret-writers')).toEqual([]);
  });

  test('demoting emergency-stop-not-in-effect to tickets and removing its OK to the pager blocks', () => {
    const id = Object.keys(resourcesOf(TEMPLATE)).find((x) =>
      /stop-not-in-effect/.test(String(resourcesOf(TEMPLATE)[x].Properties?.AlarmName)),
    )!;
    const { page, ticket } = topics();
    const s = summary(
      edited((r) => {
        r[id].Properties.AlarmActions = [{ Ref: ticket }];
        delete r[id].Properties.OKActions;
        expect(page).not.toBe(ticket);
      }),
    );
    expect(s.blocked).toBe(true);
    expect(s.findings.find((f) => f.rule === 'protection:alarm-routing')!.message).toMatch(
      /ALARM now goes to ticket, was page/,
    );
  });
});

describe('a stop trigger that reads a different metric', () => {
  const row = PROTECTIONS.find((p) => p.id === 'stop-metric')!;
  test.each([
    ['MetricName', (p: Json) => (p.MetricName = 'NobodyPublishesThis')],
    ['Namespace', (p: Json) => (p.Namespace = 'Elsewhere')],
    ['Dimensions', (p: Json) => (p.Dimensions = [{ Name: 'Stage', Value: 'nowhere' }])],
    ['ExtendedStatistic', (p: Json) => (p.ExtendedStatistic = 'p1')],
    ['ComparisonOperator', (p: Json) => (p.ComparisonOperator = 'LessThanLowerThreshold')],
    ['Unit', (p: Json) => (p.Unit = 'Bytes')],
  ])('a change of %s blocks in production with override-trading-safety', (name, edit) => {
    for (const id of resourcesOfType(TEMPLATE, row)) {
      const s = summary(edited((r) => edit(r[id].Properties)));
      const mineFound = mine(row, s.findings);
      expect([id, mineFound.map((f) => [f.severity, f.override])]).toEqual([
        id,
        [['block', 'override-trading-safety']],
      ]);
      expect(mineFound[0].message).toContain(name);
      expect(mineFound[0].message).toMatch(/reads a different metric/);
    }
  });

  test('a period change inside metric math is the period row’s, not this one’s', () => {
    const [id] = resourcesOfType(TEMPLATE, row);
    const pair = edited(
      (r) => {
        const p = r[id].Properties;
        p.Metrics = [
          {
            Id: 'm',
            ReturnData: true,
            MetricStat: { Metric: { MetricName: 'X', Namespace: 'Y' }, Period: 300, Stat: 'Sum' },
          },
        ];
        delete p.MetricName;
      },
      (r) => {
        const p = r[id].Properties;
        p.Metrics = [
          {
            Id: 'm',
            ReturnData: true,
            Label: 'a',
            MetricStat: { Metric: { MetricName: 'X', Namespace: 'Y' }, Period: 60, Stat: 'Sum' },
          },
        ];
        delete p.MetricName;
      },
    );
    expect(mine(row, summary(pair).findings)).toEqual([]);
  });
});

describe('names in findings', () => {
  test('a generated name reads as its construct path and the stack output that gives it', () => {
    const template: CfnTemplate = {
      Resources: {
        EmergencyStopFunction28DE0883: {
          Type: 'AWS::Lambda::Function',
          Metadata: { 'aws:cdk:path': 'ProductionStack/EmergencyStop/Function/Function/Resource' },
        },
      },
      Outputs: { EmergencyStopFunctionName: { Value: { Ref: 'EmergencyStopFunction28DE0883' } } },
    };
    expect(
      subjectOf('EmergencyStopFunction28DE0883', template.Resources!.EmergencyStopFunction28DE0883, template),
    ).toBe('`EmergencyStop/Function` (generated name: stack output `EmergencyStopFunctionName`)');
  });
});
