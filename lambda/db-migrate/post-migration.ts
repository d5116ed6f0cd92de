/**
 * The steps a deploy runs after its migration (service logins, partition measurement, and any
 * added later), under one rule, the migration step's own:
 * - on a forward Create or Update, a step that fails fails the deploy (before any new service
 *   version starts; CloudFormation then rolls back);
 * - on CloudFormation's update rollback (custom-resource.ts `isBackwardUpdate`), a step that fails
 *   pages on-call and the event still succeeds, so the rollback cannot end in
 *   UPDATE_ROLLBACK_FAILED; every step is attempted.
 * A step that succeeds but found something a person must know (e.g. it removed rights a service
 * role should not have had) pages in both cases.
 */

/** What one step did. */
export interface StepOutcome {
  /** Lines for the log; never a secret. */
  readonly lines: readonly string[];
  /** Set when a person must know about what the step did (it pages), though it succeeded. */
  readonly attention?: string;
}

/** One post-migration step. */
export interface PostMigrationStep {
  /** Named in messages and pages, e.g. "service logins". */
  readonly name: string;
  run(): Promise<StepOutcome>;
}

/** A post-migration step failed on a forward deploy. */
export class PostMigrationStepError extends Error {
  constructor(
    readonly step: string,
    readonly cause: unknown,
  ) {
    super(
      `post-migration step "${step}" failed: ${(cause as Error)?.message ?? String(cause)}. The migration itself ` +
        'succeeded; the deploy stopped before any new service version started. Fix what the message says and ' +
        'deploy again (docs/migrations.md, "After the migration: one rule for every step")',
    );
  }
}

/** Where the steps report. */
export interface StepReporting {
  /** True for CloudFormation's update rollback: failures page instead of failing. */
  readonly rollback: boolean;
  /** Pages on-call. */
  readonly page: (what: string) => void;
  /** Receives each step's lines. */
  readonly log: (line: string) => void;
}

/** Runs `steps` in order under the rule above; returns what each did (failed ones on a rollback too). */
export async function runPostMigrationSteps(
  steps: readonly PostMigrationStep[],
  reporting: StepReporting,
): Promise<{ step: string; outcome?: StepOutcome; error?: string }[]> {
  const results: { step: string; outcome?: StepOutcome; error?: string }[] = [];
  for (const step of steps) {
    try {
      const outcome = await step.run();
      outcome.lines.forEach((line) => reporting.log(`${step.name}: ${line}`));
      if (outcome.attention) reporting.page(`${step.name}: ${outcome.attention}`);
      results.push({ step: step.name, outcome });
    } catch (err) {
      if (!reporting.rollback) throw new PostMigrationStepError(step.name, err);
      const message = (err as Error)?.message ?? String(err);
      reporting.page(
        `During an update rollback the post-migration step "${step.name}" failed (${message}); the rollback was ` +
          'let through so the stack does not end in UPDATE_ROLLBACK_FAILED. Fix the cause, then run the step again ' +
          '(the logins: invoke the migration function with {"command":"set-service-logins"}, docs/database-users.md; ' +
          'partitions: npm run ops -- migrate ensure-partitions --env <env>) (docs/migrations.md, "After the ' +
          'migration: one rule for every step").',
      );
      results.push({ step: step.name, error: message });
    }
  }
  return results;
}
