import { COST_PROVIDER } from '../cost/pr';
import { PROTECTION_PROVIDER } from './protections';
import {
  migrationAdded,
  migrationEdited,
  migrationOutOfOrder,
  MIGRATION_SQL_PROVIDER,
} from './rules-migrations';
import { iamWidened, iamWildcard, sgWidened, sgWorldOpen } from './rules-iam';
import {
  fixedNameCollision,
  networkReplaced,
  rdsStorageShrinks,
  resourcesReplaced,
  statefulMayReplace,
  statefulReplaced,
  statefulUpdated,
  tagsOnly,
} from './rules-stateful';
import {
  botDesiredCount,
  botNotStopFirst,
  emergencyStopChanged,
  emergencyStopDisconnected,
  emergencyStopWeakened,
  imagesChanged,
  liveTradingChanged,
  liveTradingOn,
  mlDesiredCount,
  scalingChanged,
  SAFETY_CODE_PROVIDER,
  secretRegenerated,
  taskDefinitionChanged,
} from './rules-trading';
import { Finding, FindingDraft, FindingProvider, LABELS, Rule, RuleContext, SEVERITIES } from './types';

// The rules table of the risk summary, the finding providers beside it, and how they run together.
// Each rule's detector lives with its concern (rules-trading.ts, rules-stateful.ts,
// rules-migrations.ts, rules-iam.ts, protections.ts); this file only lists and runs them.

const CFN_UPDATE_BEHAVIORS =
  'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html';

/**
 * The rules of the risk summary, most serious first (the first finding of the first rule is the
 * headline). docs/deployment.md lists the same table; a test keeps the two equal.
 */
export const RULES: readonly Rule[] = [
  {
    id: 'secret-regenerated',
    severity: 'block',
    override: LABELS.tradingSafety,
    title: "A secret's GenerateSecretString (or its SecretStringTemplate) changes, is added or removed",
    reason:
      'CloudFormation generates a new value: hand-set Betfair credentials are lost, the database password in the secret no longer matches the database.',
    source: 'AWS::SecretsManager::Secret GenerateSecretString reference; aws/aws-cdk#10800; issues 11 and 17',
    detect: secretRegenerated,
  },
  {
    id: 'emergency-stop-disconnected',
    severity: 'block',
    override: LABELS.tradingSafety,
    title:
      'An emergency-stop trigger alarm loses its Lambda action, has ActionsEnabled false or is deleted; the function or its alarm permission is removed',
    reason: 'The loss limit or error storm then only pages: nothing stops trading.',
    source:
      'AWS::CloudWatch::Alarm ActionsEnabled/AlarmActions reference; CloudWatch "Lambda alarm actions" (lambda.alarms.cloudwatch.amazonaws.com); docs/emergency-stop.md',
    detect: emergencyStopDisconnected,
  },
  {
    id: 'bot-not-stop-first',
    severity: 'block',
    override: LABELS.tradingSafety,
    title: "The bot service's deployment is not stop-first (minimum 0 %, maximum 100 %, ECS controller)",
    reason:
      'Maximum above 100 % (or a blue/green controller) starts the new bot before the old one stops: two bots trading at once.',
    source:
      'Amazon ECS "Deployment configuration" (maximumPercent, minimumHealthyPercent; defaults 200/100); DESIGN.md',
    detect: botNotStopFirst,
  },
  {
    id: 'bot-desired-count',
    severity: 'block',
    override: LABELS.tradingSafety,
    title: 'The bot service gains DesiredCount',
    reason: 'Every deploy would set the running count, restarting a bot the emergency stop scaled to zero.',
    source:
      'AWS::ECS::Service DesiredCount reference (omitted: CloudFormation keeps the current count); docs/emergency-stop.md',
    detect: botDesiredCount,
  },
  {
    id: 'rds-storage-shrink',
    severity: 'block',
    title: "A DB instance's AllocatedStorage decreases",
    reason:
      'RDS cannot reduce allocated storage: the deploy fails and rolls back. No label helps; change the pull request.',
    source:
      'Amazon RDS User Guide "Working with storage": you can\'t reduce the amount of storage after it has been allocated',
    detect: rdsStorageShrinks,
  },
  {
    id: 'network-replaced',
    severity: 'block',
    override: LABELS.destructive,
    title: 'The VPC, a subnet or the DB subnet group is replaced (one finding listing what moves with it)',
    reason: 'The database cannot move VPC in place; services, load balancer and VPC functions are recreated.',
    source: `${CFN_UPDATE_BEHAVIORS}; AWS::EC2::VPC/Subnet CidrBlock "Update requires: Replacement"; Amazon RDS "Working with a DB instance in a VPC"`,
    detect: networkReplaced,
  },
  {
    id: 'fixed-name-collision',
    severity: 'block',
    override: LABELS.destructive,
    title:
      'A renamed construct re-creates a fixed-name resource while the old one is retained, or a fixed-name resource needs replacement',
    reason:
      'The create fails because the name is taken; CloudFormation cannot replace a custom-named resource.',
    source: 'CloudFormation "Name type" (custom names and replacement); DeletionPolicy reference',
    detect: fixedNameCollision,
  },
  {
    id: 'stateful-replaced',
    severity: 'block',
    override: LABELS.destructive,
    title:
      'A stateful resource (database, secret, repository, log group, bucket, key, table, file system) is replaced, deleted or removed from the stack',
    reason:
      'Its data or identity is lost or left unmanaged; for a secret, its readers are listed (they get placeholder values).',
    source: `${CFN_UPDATE_BEHAVIORS}; DeletionPolicy and UpdateReplacePolicy reference`,
    detect: statefulReplaced,
  },
  {
    id: 'stateful-may-replace',
    severity: 'block',
    override: LABELS.destructive,
    title: 'A stateful resource may be replaced (a property that replaces for some values only)',
    reason:
      'Whether it does depends on the values; the reference page says when. Properties known to update in place (RDS MultiAZ, backup retention, maintenance window, minor upgrades, parameter group, storage type) are not reported here.',
    source: `${CFN_UPDATE_BEHAVIORS}; the resource's property reference ("Update requires")`,
    detect: statefulMayReplace,
  },
  {
    id: 'migration-out-of-order',
    severity: 'block',
    override: LABELS.outOfOrderMigration,
    title: "A new migration file's version is below the base's highest version",
    reason:
      'golang-migrate and the runner only apply versions above the database version: the file is skipped silently where the base ran.',
    source: 'golang-migrate "Migration files" (versions applied in order); docs/migrations.md; issue 13',
    detect: migrationOutOfOrder,
  },
  {
    id: 'emergency-stop-weakened',
    severity: 'warn',
    title: 'The emergency-stop role loses a permission',
    reason:
      'A step of the stop (scale to zero, live trading off, cancel-all, notify) may fail with AccessDenied.',
    source: 'docs/emergency-stop.md',
    detect: emergencyStopWeakened,
  },
  {
    id: 'live-trading-on',
    severity: 'warn',
    title: 'The config secret switches live_trading_enabled on',
    reason: 'A deploy writes the template value over the live one, including an emergency stop’s false.',
    source: 'AWS::SecretsManager::Secret SecretString reference; docs/emergency-stop.md',
    detect: liveTradingOn,
  },
  {
    id: 'migration-edited',
    severity: 'warn',
    title: 'A migration file the base already has changes its bytes',
    reason: 'A database at or past that version never re-runs it.',
    source: 'golang-migrate "Migration files"; docs/migrations.md',
    detect: migrationEdited,
  },
  {
    id: 'iam-wildcard',
    severity: 'warn',
    title:
      'A new IAM grant with a wildcard action, resource or principal, NotAction/NotResource, or a broad managed policy',
    reason: 'Least privilege: a wildcard is rarely needed and hard to review.',
    source: 'IAM User Guide "Security best practices: apply least-privilege permissions"',
    detect: iamWildcard,
  },
  {
    id: 'sg-world-open',
    severity: 'warn',
    title:
      'A new security-group egress rule to 0.0.0.0/0 or ::/0 (ingress from the internet is the `sg-world-ingress` protection)',
    reason:
      'The services are internal; internet-open rules are rarely intended. A rule that only follows a VPC CIDR change is not reported.',
    source: 'Amazon VPC "Security group rules"',
    detect: sgWorldOpen,
  },
  {
    id: 'ml-desired-count',
    severity: 'warn',
    title: 'The ML service gains DesiredCount',
    reason: 'Autoscaling owns the count; a deploy would reset it.',
    source: 'AWS::ECS::Service DesiredCount reference; Application Auto Scaling for ECS',
    detect: mlDesiredCount,
  },
  {
    id: 'image-changed',
    severity: 'info',
    title: 'A container image changes (tag and/or digest, old → new)',
    reason: 'What will run after the deploy; production pins digests (repo@sha256:…).',
    source: 'Amazon ECS task definition "image" parameter (repository:tag, repository@digest)',
    detect: imagesChanged,
  },
  {
    id: 'task-definition-changed',
    severity: 'info',
    title: "Other changes to the bot's or ML service's task definition",
    reason: 'Variables, CPU/memory, roles.',
    source: 'Amazon ECS task definition parameters',
    detect: taskDefinitionChanged,
  },
  {
    id: 'migration-added',
    severity: 'info',
    title: 'New migration files (applied on deploy)',
    reason: 'They change the production schema when the stack deploys.',
    source: 'lib/migrations.ts; docs/migrations.md',
    detect: migrationAdded,
  },
  {
    id: 'iam-widening',
    severity: 'info',
    title: 'A new IAM permission without wildcards',
    reason: 'Worth a look; the CDK rewriting statements is not reported.',
    source: 'IAM User Guide "Policy evaluation logic"',
    detect: iamWidened,
  },
  {
    id: 'sg-widening',
    severity: 'info',
    title: 'A new security-group rule not open to the internet',
    reason: 'Worth a look.',
    source: 'Amazon VPC "Security group rules"',
    detect: sgWidened,
  },
  {
    id: 'scaling-changed',
    severity: 'info',
    title: 'ML autoscaling bounds or target change',
    reason: 'Capacity and cost.',
    source: 'Application Auto Scaling target tracking',
    detect: scalingChanged,
  },
  {
    id: 'tags-only',
    severity: 'info',
    title: 'Resources whose only change is their tags (one line per stack)',
    reason: 'Tags update in place; listing each resource would bury the findings.',
    source: 'Resource tag reference ("Update requires: No interruption")',
    detect: tagsOnly,
  },
  {
    id: 'live-trading-changed',
    severity: 'info',
    generic: true,
    title: 'Any other change of the config secret',
    reason: 'A deploy writes the template value over the live one.',
    source: 'docs/emergency-stop.md',
    detect: liveTradingChanged,
  },
  {
    id: 'emergency-stop-changed',
    severity: 'info',
    generic: true,
    title: 'Any other change to the emergency-stop wiring (function, role, alarms, permissions)',
    reason: 'The stop must keep working; read these.',
    source: 'docs/emergency-stop.md',
    detect: emergencyStopChanged,
  },
  {
    id: 'stateful-updated',
    severity: 'info',
    generic: true,
    title: 'A stateful resource updated in place (storage growth and Multi-AZ with their direction)',
    reason: 'Keeps the data; may interrupt or reboot.',
    source: CFN_UPDATE_BEHAVIORS,
    detect: statefulUpdated,
  },
  {
    id: 'resources-replaced',
    severity: 'info',
    generic: true,
    title: 'Stateless resources replaced or deleted (one line per stack)',
    reason: 'Usually harmless (task definitions, rules); listed so nothing is hidden.',
    source: CFN_UPDATE_BEHAVIORS,
    detect: resourcesReplaced,
  },
];

/**
 * The finding providers beside the rules table, in the order they run (after the specific rules,
 * before the generic ones). A new module (a cost estimate, say) adds itself here: its findings are
 * then sorted, rendered, counted and can block like every other.
 */
export const FINDING_PROVIDERS: readonly FindingProvider[] = [
  PROTECTION_PROVIDER,
  MIGRATION_SQL_PROVIDER,
  SAFETY_CODE_PROVIDER,
  COST_PROVIDER,
];

/** Every rule id in listing order: specific rules, then the providers', then the generic rules. */
export function ruleOrder(): string[] {
  return [
    ...RULES.filter((r) => !r.generic).map((r) => r.id),
    ...FINDING_PROVIDERS.flatMap((p) => p.ruleIds),
    ...RULES.filter((r) => r.generic).map((r) => r.id),
  ];
}

/** Runs every rule on one stack: specific rules first, then the providers, then generic rules on what they left. */
export function runRules(ctx: Omit<RuleContext, 'claimed' | 'claimedProperties'>): Finding[] {
  const claimed = new Set<string>();
  const claimedProperties = new Set<string>();
  const findings: Finding[] = [];
  // Later (less specific) rules leave these alone: one finding per resource, or per property.
  const claim = (drafts: readonly FindingDraft[]) => {
    for (const d of drafts) {
      for (const id of d.resources) {
        claimed.add(id);
        for (const p of d.properties ?? ['*']) claimedProperties.add(`${id}.${p}`);
      }
    }
  };
  const run = (rules: readonly Rule[]) => {
    for (const rule of rules) {
      const drafts = rule.detect({ ...ctx, claimed, claimedProperties });
      for (const draft of drafts) {
        findings.push({
          ...draft,
          rule: rule.id,
          severity: rule.severity,
          stackName: ctx.stackName,
          override: rule.severity === 'block' ? rule.override : undefined,
        });
      }
      claim(drafts);
    }
  };
  run(RULES.filter((r) => !r.generic));
  for (const provider of FINDING_PROVIDERS) {
    const found = provider.detect({ ...ctx, claimed, claimedProperties });
    findings.push(...found);
    claim(found);
  }
  run(RULES.filter((r) => r.generic));
  return sortFindings(findings);
}

/**
 * By severity, then production before other stacks (the headline names production's finding when
 * both stacks have it), then by rule order (stable).
 */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const order = new Map(ruleOrder().map((id, i) => [id, i]));
  const production = (f: Finding) => (/production/i.test(f.stackName) ? 0 : 1);
  return [...findings].sort(
    (a, b) =>
      SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
      production(a) - production(b) ||
      (order.get(a.rule) ?? 0) - (order.get(b.rule) ?? 0),
  );
}

/** Whether a finding fails the check given the pull request's labels. */
export function blocks(finding: Finding, labels: ReadonlySet<string>): boolean {
  return finding.severity === 'block' && !(finding.override && labels.has(finding.override));
}
