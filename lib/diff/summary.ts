import { fullDiff, TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { classifyChanges } from './changes';
import { migrationChanges, MigrationSets } from './migrations';
import { blocks, runRules } from './rules';
import type { SafetyCodeChange } from './safety-code';
import { DEFAULT_SUBJECT_NAMES, SubjectNames } from './subjects';
import { CfnTemplate, resourcesOf, withoutNoise } from './template';
import { Finding, LABELS, ResourceRemoval, StackChanges } from './types';

/** What a change to one stack means for a trading system. */
export interface RiskSummary extends StackChanges {
  readonly stackName: string;
  /** Resources, outputs, parameters and other template sections that differ. */
  readonly changeCount: number;
  /** Stateful resources replaced or removed. */
  readonly destructive: readonly ResourceRemoval[];
  /** What the rules and finding providers found, most serious first. */
  readonly findings: readonly Finding[];
  /** A `block` finding whose override label is not set: the check fails. */
  readonly blocked: boolean;
}

/** Options of {@link summarizeStack}. */
export interface SummarizeOptions {
  /** Same as the `allow-destructive` label in {@link labels}. @default false */
  readonly allowDestructive?: boolean;
  /** The pull request's labels; each blocking rule names the one that lets it pass. @default none */
  readonly labels?: readonly string[];
  /**
   * Treat the stack as production: a weakened protection blocks (it warns elsewhere).
   * @default the stack name contains "production"
   */
  readonly production?: boolean;
  /** The migration files of both sides (see `migrationFilesOf`). @default not checked */
  readonly migrations?: MigrationSets;
  /** Source files of the safety functions that differ between base and head. @default none known */
  readonly safetyCode?: readonly SafetyCodeChange[];
  /** How the bot, ML service and config secret are recognised. @default DEFAULT_SUBJECT_NAMES */
  readonly names?: SubjectNames;
}

/** The risk summary and the full diff of one stack. */
export interface StackDiff {
  readonly summary: RiskSummary;
  readonly diff: TemplateDiff;
}

/**
 * Compares two templates of one stack. `oldTemplate` undefined means the stack does not exist yet
 * (everything is an addition); `newTemplate` undefined means it is removed from the app.
 */
export function summarizeStack(
  stackName: string,
  oldTemplate: CfnTemplate | undefined,
  newTemplate: CfnTemplate | undefined,
  options: SummarizeOptions = {},
): StackDiff {
  const before = withoutNoise(oldTemplate);
  const after = withoutNoise(newTemplate);
  const diff = fullDiff(before, after);
  const names = options.names ?? DEFAULT_SUBJECT_NAMES;
  const { changes, tagOnly } = classifyChanges(diff, before, after, names);
  const findings = runRules({
    stackName,
    production: options.production ?? /production/i.test(stackName),
    before,
    after,
    oldRes: resourcesOf(before),
    newRes: resourcesOf(after),
    diff,
    names,
    tagOnly,
    migrations: migrationChanges(options.migrations, oldTemplate),
    safetyCode: options.safetyCode,
    ...changes,
  });
  const labels = new Set([
    ...(options.labels ?? []),
    ...(options.allowDestructive ? [LABELS.destructive] : []),
  ]);
  const summary: RiskSummary = {
    stackName,
    changeCount: diff.differenceCount,
    ...changes,
    destructive: changes.removals.filter((r) => r.stateful),
    findings,
    blocked: findings.some((f) => blocks(f, labels)),
  };
  return { summary, diff };
}
