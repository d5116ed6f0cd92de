import { TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { IamWidening } from './iam';
import { MigrationChanges } from './migrations';
import type { SafetyCodeChange } from './safety-code';
import { EmergencyStopPart, SubjectNames } from './subjects';
import { CfnResource, CfnTemplate } from './template';

// The types every part of the risk summary shares: the classified changes of a stack, findings,
// severities and labels. Only types and constants live here, so that no two modules import each other.

/** How serious a finding is: `block` fails the check unless its label overrides it. */
export type Severity = 'block' | 'warn' | 'info';

/** Severities from most to least serious. */
export const SEVERITIES: readonly Severity[] = ['block', 'warn', 'info'];

/**
 * Pull-request labels that let a blocking finding pass. Each names what the reviewer accepts, so a
 * label added for one kind of block does not wave through another kind.
 */
export const LABELS = {
  /** A planned replacement or deletion of data: a restore, an engine or network migration. */
  destructive: 'allow-destructive',
  /**
   * Louder: a change to what keeps live trading safe (the emergency stop, one bot at a time, the
   * Betfair and database credentials). Meant to be rare and discussed before it is added.
   */
  tradingSafety: 'override-trading-safety',
  /** A migration below the base's highest version, known to be applied by hand (issue 13). */
  outOfOrderMigration: 'allow-out-of-order-migration',
  /** A security group opened to the internet (`0.0.0.0/0`, `::/0`) in production, on purpose. */
  publicIngress: 'allow-public-ingress',
} as const;

export type OverrideLabel = (typeof LABELS)[keyof typeof LABELS];

/** What a rule found, before the rule's id and severity are attached. */
export interface FindingDraft {
  /** Logical ids the finding is about; generic rules leave these to the specific finding. */
  readonly resources: readonly string[];
  /** One line for the summary: the subject by physical name, what happens and why it matters. */
  readonly message: string;
  /** Short form for the first line of the comment. */
  readonly headline: string;
  /** What follows from it, said after the rule id (the bot's pause on a restart). @default none */
  readonly consequence?: string;
  /**
   * The properties of `resources` this finding reports. Set: later rules still report the other
   * properties of those resources (a stateful resource shows every changed property). Unset: the
   * finding covers the whole resource.
   */
  readonly properties?: readonly string[];
}

/** One finding of one rule on one stack. */
export interface Finding extends FindingDraft {
  readonly rule: string;
  readonly severity: Severity;
  readonly stackName: string;
  /** The label that lets this block pass; undefined when nothing can (or it does not block). */
  readonly override?: OverrideLabel;
}

/**
 * Resource types that hold data or identity a replacement or deletion would lose: the database, the
 * secrets (generated passwords, the live-trading flag), the image registries, the logs, buckets and
 * encryption keys (a deleted key makes everything it encrypted unreadable).
 */
export const STATEFUL_TYPES: ReadonlySet<string> = new Set([
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::SecretsManager::Secret',
  'AWS::ECR::Repository',
  'AWS::Logs::LogGroup',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::DynamoDB::Table',
  'AWS::EFS::FileSystem',
]);

/** A resource the change replaces, may replace, deletes or drops from the stack. */
export interface ResourceRemoval {
  readonly logicalId: string;
  readonly type: string;
  /** One of {@link STATEFUL_TYPES}: replacing or deleting it is destructive. */
  readonly stateful: boolean;
  /** `replace` / `may-replace`: a new physical resource; `destroy`: deleted; `orphan`: kept outside the stack. */
  readonly impact: 'replace' | 'may-replace' | 'destroy' | 'orphan';
  /** Properties whose change forces the replacement. */
  readonly causes: readonly string[];
  /** What happens to the old physical resource, from its DeletionPolicy / UpdateReplacePolicy. */
  readonly fate: string;
}

/** A stateful resource updated in place (no new physical resource, possibly an interruption). */
export interface StatefulUpdate {
  readonly logicalId: string;
  readonly type: string;
  readonly details: readonly string[];
}

/** A new security-group rule. */
export interface SecurityGroupWidening {
  readonly direction: 'ingress' | 'egress';
  readonly group: string;
  readonly protocol: string;
  readonly peer: string;
  /** Open to the whole internet: `0.0.0.0/0` or `::/0`. */
  readonly world: boolean;
}

/** A change to the bot's or the ML service's task definition. */
export interface TaskDefinitionChange {
  readonly service: 'bot' | 'ml-service';
  readonly logicalId: string;
  readonly change: 'added' | 'removed' | 'updated';
  /**
   * Image changes per container: tag and/or digest (`v1.2.3`, `v1.2.3@sha256:0123…`, `sha256:0123…`),
   * and the repository when it changes too.
   */
  readonly imageTags: readonly { container: string; from?: string; to?: string; repository?: string }[];
  /** Other changed fields, rendered. */
  readonly details: readonly string[];
}

/** A change to the config secret's template value, which holds `live_trading_enabled`. */
export interface LiveTradingChange {
  readonly logicalId: string;
  readonly secretName: string;
  readonly change: 'added' | 'removed' | 'updated';
  /** `live_trading_enabled` before (undefined when absent or unreadable). */
  readonly from?: unknown;
  /** `live_trading_enabled` after. */
  readonly to?: unknown;
}

/** A change to a task count or scaling bound. */
export interface CountChange {
  readonly service: 'bot' | 'ml-service';
  readonly logicalId: string;
  readonly property: string;
  readonly from?: unknown;
  readonly to?: unknown;
  /** Why it matters, when it does. */
  readonly warning?: string;
}

/** A change to the emergency-stop wiring. */
export interface EmergencyStopChange {
  readonly logicalId: string;
  readonly type: string;
  readonly part: EmergencyStopPart;
  readonly change: 'added' | 'removed' | 'updated';
  readonly details: readonly string[];
}

/** The classified changes of one stack, as the summary reports them and the rules read them. */
export interface StackChanges {
  readonly removals: readonly ResourceRemoval[];
  readonly statefulUpdates: readonly StatefulUpdate[];
  readonly iamWidening: readonly IamWidening[];
  readonly securityGroupWidening: readonly SecurityGroupWidening[];
  readonly taskDefinitions: readonly TaskDefinitionChange[];
  readonly liveTrading: readonly LiveTradingChange[];
  readonly counts: readonly CountChange[];
  readonly emergencyStop: readonly EmergencyStopChange[];
}

/** Everything a rule may look at for one stack. */
export interface RuleContext extends StackChanges {
  readonly stackName: string;
  /** Production stack: losing a standby or a backup matters more. */
  readonly production: boolean;
  readonly before: CfnTemplate;
  readonly after: CfnTemplate;
  readonly oldRes: Record<string, CfnResource>;
  readonly newRes: Record<string, CfnResource>;
  readonly diff: TemplateDiff;
  readonly names: SubjectNames;
  /** Resources whose only change is their tags, with the tag keys that changed. */
  readonly tagOnly: ReadonlyMap<string, readonly string[]>;
  readonly migrations?: MigrationChanges;
  /** Source files of the safety functions that differ between base and head (from git). @default none known */
  readonly safetyCode?: readonly SafetyCodeChange[];
  /** Logical ids a specific (non-generic) finding already names; generic rules skip them. */
  readonly claimed: ReadonlySet<string>;
  /** Properties (`<logicalId>.<Property>`) a finding already reports; later rules skip those only. */
  readonly claimedProperties: ReadonlySet<string>;
}

/** One row of the rules table. */
export interface Rule {
  readonly id: string;
  readonly severity: Severity;
  /** What the rule catches, for docs/deployment.md. */
  readonly title: string;
  /** Why it matters. */
  readonly reason: string;
  /** The AWS document, issue or project file the rule follows. */
  readonly source: string;
  /** For `block` rules: the label that lets it pass; absent when no label can (the deploy would fail). */
  readonly override?: OverrideLabel;
  /** Runs after the specific rules and skips resources they named (dedupe per resource). */
  readonly generic?: boolean;
  detect(ctx: RuleContext): FindingDraft[];
}

/**
 * A source of findings beside the rules table: the protections table, the migrations' SQL, the
 * safety code, and any later module (a cost estimate, say). Each runs on every stack after the
 * specific rules and before the generic ones, and returns finished findings (its own rule ids and
 * severities, which may depend on the environment). {@link FINDING_PROVIDERS} in rules.ts lists them.
 */
export interface FindingProvider {
  /** Short name, for docs and errors. */
  readonly id: string;
  /** Rule ids this provider emits, in order: used to sort its findings among the others. */
  readonly ruleIds: readonly string[];
  /** The label that lets each of its blocking rules pass (docs/deployment.md lists them). */
  readonly overrides: Readonly<Record<string, OverrideLabel>>;
  detect(ctx: RuleContext): Finding[];
}
