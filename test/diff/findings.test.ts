import {
  CfnTemplate,
  headline,
  loadSqlParser,
  MigrationFile,
  renderMarkdown,
  summarizeStack,
  SummarizeOptions,
} from '../../lib/diff';
import { changed } from './fixtures';
import { ruleTemplate } from './rule-fixtures';

// What the issue found waved through, each as a template pair: every property of a stateful
// resource has its line, production heads the comment, a restart of the bot says what it costs, and
// a new migration's SQL is judged.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BASE = changed(ruleTemplate(), (r) => {
  Object.assign(r.DatabaseInstanceAA8A5FDE.Properties, {
    EngineVersion: '17',
    BackupRetentionPeriod: 14,
    DeletionProtection: true,
    DBParameterGroupName: { Ref: 'DatabaseParameters17' },
  });
});
const edit = (fn: (r: Json) => void) => changed(BASE as Json, fn);
const summarize = (after: CfnTemplate, stack = 'ProductionStack', options: SummarizeOptions = {}) =>
  summarizeStack(stack, BASE, after, options);
const DB = 'DatabaseInstanceAA8A5FDE';

beforeAll(() => loadSqlParser());

describe('every changed property of a stateful resource appears', () => {
  test('a production major upgrade blocks, and the parameter group is its own in-place line', () => {
    const s = summarize(
      edit((r) => {
        Object.assign(r[DB].Properties, {
          EngineVersion: '18',
          AllowMajorVersionUpgrade: true,
          DBParameterGroupName: { Ref: 'DatabaseParameters18' },
        });
      }),
    ).summary;
    expect(s.blocked).toBe(true);
    const rules = s.findings.map((f) => [f.rule, f.severity]);
    expect(rules).toContainEqual(['protection:rds-engine-major', 'block']);
    const engine = s.findings.find((f) => f.rule === 'protection:rds-engine-major')!;
    expect(engine.message).toMatch(
      /EngineVersion 17 → 18: a major upgrade; the database is down while it runs and cannot be downgraded/,
    );
    const lines = s.findings.filter((f) => f.rule === 'stateful-updated').map((f) => f.message);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\(no replacement; may reboot\): .*DBParameterGroupName changed$/),
        expect.stringMatching(/AllowMajorVersionUpgrade \(none\) → true$/),
      ]),
    );
  });

  test('deletion protection off together with backups 14 → 7 days: both block, each on its own line', () => {
    const s = summarize(
      edit((r) => {
        r[DB].Properties.DeletionProtection = false;
        r[DB].Properties.BackupRetentionPeriod = 7;
      }),
    ).summary;
    expect(s.findings.filter((f) => f.severity === 'block').map((f) => [f.rule, f.override])).toEqual([
      ['protection:rds-deletion-protection', 'allow-destructive'],
      ['protection:rds-backup-retention', 'allow-destructive'],
    ]);
    expect(s.findings.map((f) => f.message).join('\n')).toMatch(/BackupRetentionPeriod 14 → 7/);
  });

  test('deletion protection off alone blocks in production and warns in staging', () => {
    const after = edit((r) => (r[DB].Properties.DeletionProtection = false));
    expect(headline([summarize(after)])).toMatch(
      /^⛔ Blocked: ProductionStack: database `DatabaseInstanceAA8A5FDE` weakened: DeletionProtection true → false$/,
    );
    expect(headline([summarize(after, 'StagingStack')])).toMatch(/^⚠️ StagingStack: database /);
  });

  test('a "may replace" property does not hide the others', () => {
    const s = summarize(
      edit((r) => {
        r[DB].Properties.AvailabilityZone = 'eu-west-1b';
        r[DB].Properties.DBInstanceClass = 'db.r6g.xlarge';
        r[DB].Properties.DeletionProtection = false;
      }),
    ).summary;
    expect(s.findings.map((f) => f.rule).sort()).toEqual(
      ['protection:rds-deletion-protection', 'stateful-may-replace', 'stateful-updated'].sort(),
    );
    expect(s.findings.find((f) => f.rule === 'stateful-updated')!.message).toMatch(
      /DBInstanceClass db.r6g.large → db.r6g.xlarge/,
    );
  });
});

describe('headline and wording', () => {
  test('production’s finding heads the comment when both stacks have it', () => {
    const after = edit((r) => (r.ServicesBotService0E8F015B.Properties.DesiredCount = 1));
    const both = [summarize(after, 'StagingStack'), summarize(after, 'ProductionStack')];
    expect(headline(both)).toMatch(/^⛔ Blocked: ProductionStack: /);
  });

  test('a bot resize says that trading pauses while the one task is replaced stop-first', () => {
    const s = summarize(edit((r) => (r.ServicesBotTaskC531FB33.Properties.Cpu = '1024')));
    expect(s.summary.blocked).toBe(false);
    const md = renderMarkdown([s]);
    expect(md).toMatch(
      /Cpu: 512 → 1024 \(`task-definition-changed`\) The bot stops, then starts \(stop-first\): trading pauses for about \d+ s/,
    );
  });
});

describe('a new migration’s SQL', () => {
  const file = (name: string, sql: string): MigrationFile => ({
    name,
    version: name.split('_')[0],
    sha256: name,
    sql,
  });
  const base = [
    file('20240201090000_ml_predictions.up.sql', 'GRANT SELECT, INSERT ON bet_events TO clever_better_bot;'),
  ];

  test.each(['20270101000000_cleanup.up.sql', '20270101000000_add_index.up.sql'])(
    'DROP TABLE in %s blocks with allow-destructive, quoting the statement and the file',
    (name) => {
      const d = summarize(BASE, 'ProductionStack', {
        migrations: { base, head: [...base, file(name, '-- tidy\nDROP TABLE bet_events;\n')] },
      });
      expect(d.summary.blocked).toBe(true);
      expect(headline([d])).toBe(
        `⛔ Blocked: ProductionStack: migration \`${name}\`: DROP TABLE bet_events (destructive)`,
      );
      const f = d.summary.findings.find((x) => x.rule === 'migration-sql-destructive')!;
      expect(f.message).toContain(`\`${name}\`: \`DROP TABLE bet_events\`: drops a table and its data`);
      expect(f.override).toBe('allow-destructive');
      expect(
        summarize(BASE, 'ProductionStack', {
          labels: ['allow-destructive'],
          migrations: { base, head: [...base, file(name, 'DROP TABLE bet_events;')] },
        }).summary.blocked,
      ).toBe(false);
    },
  );

  test('a CREATE INDEX on a written table warns; a file that does not parse blocks', () => {
    const lock = summarize(BASE, 'ProductionStack', {
      migrations: {
        base,
        head: [...base, file('20270101000000_i.up.sql', 'CREATE INDEX i ON bet_events (id);')],
      },
    }).summary;
    expect([lock.blocked, lock.findings.map((f) => f.rule)]).toEqual([
      false,
      ['migration-sql-lock', 'migration-added'],
    ]);
    const broken = summarize(BASE, 'ProductionStack', {
      migrations: { base, head: [...base, file('20270101000000_b.up.sql', 'CREAT TABLE x (a int);')] },
    }).summary;
    expect(broken.findings[0].rule).toBe('migration-sql-unparsable');
    expect(broken.blocked).toBe(true);
  });

  // Two tables granted: the REVOKE of one leaves grants (none at all would make every table count).
  const grants = [
    file(
      '20240201090000_ml_predictions.up.sql',
      'GRANT SELECT, INSERT ON bet_events, bets TO clever_better_bot;',
    ),
  ];
  test('a REVOKE in the same PR does not hide a rename: the grants are read as they were before the new files', () => {
    const found = summarize(BASE, 'ProductionStack', {
      migrations: {
        base: grants,
        head: [
          ...grants,
          file(
            '20270101000000_r.up.sql',
            'REVOKE ALL ON bet_events FROM clever_better_bot;\nALTER TABLE bet_events RENAME TO events;',
          ),
        ],
      },
    }).summary.findings.filter((f) => f.rule === 'migration-sql-destructive');
    expect(found.map((f) => f.message)).toEqual([
      expect.stringMatching(/revokes privileges from clever_better_bot/),
      expect.stringMatching(/renames table bet_events, which the services use/),
    ]);
  });

  test('a DO block warns (review by hand) without blocking', () => {
    const d = summarize(BASE, 'ProductionStack', {
      migrations: { base, head: [...base, file('20270101000000_d.up.sql', 'DO $$ BEGIN NULL; END $$;')] },
    }).summary;
    expect([d.blocked, d.findings.map((f) => [f.rule, f.severity])]).toEqual([
      false,
      [
        ['migration-sql-lock', 'warn'],
        ['migration-added', expect.anything()],
      ],
    ]);
    expect(d.findings[0].message).toMatch(/Migration cannot be analysed: .*review by hand/);
  });
});
