import type { UsageProfile } from '../../environments/types';
import { constructPath, physicalName } from '../diff/physical-names';
import { CfnResource, CfnTemplate, resourcesOf } from '../diff/template';
import { COVERAGE, Coverage } from './coverage';
import { priceOf } from './prices';

/** Whether a line follows from the template and config alone, or from the usage profile. */
export type CostKind = 'fixed' | 'usage';

/** What a pricer says about one resource: a quantity of a priced dimension. */
export interface LineDraft {
  /** Price id in lib/cost/prices.ts, e.g. `nat.hour`. */
  readonly priceId: string;
  /** How many units of the price's unit a month (hours × count, GB, …). */
  readonly quantity: number;
  readonly kind: CostKind;
  /** What the quantity rests on, e.g. `cost.usage.natProcessedGbPerMonth = 300`, or `2 tasks × 730 h`. */
  readonly basis: string;
  /**
   * Name of the ECS service whose task count came from the config (`serviceTaskCounts`) because the
   * template gives none: in a pull-request delta both sides then use the working tree's count.
   */
  readonly configCount?: string;
}

/** One priced line of the estimate. */
export interface CostLine extends LineDraft {
  readonly logicalId: string;
  readonly type: string;
  /** Physical name where the template sets one, else the construct path without the stack. */
  readonly name: string;
  /** The billing service the line belongs to (`VPC`, `RDS`, …), for grouping. */
  readonly service: string;
  /** The price row's dimension. */
  readonly dimension: string;
  readonly unit: string;
  /** USD per unit, or `'unknown'`. */
  readonly unitUsd: number | 'unknown';
  /** USD a month, or undefined when the price is unknown. */
  readonly monthlyUsd: number | undefined;
}

/** A resource whose type has no entry in the coverage table: the estimate is incomplete. */
export interface UncoveredResource {
  readonly logicalId: string;
  readonly type: string;
}

/** Everything the estimator needs besides the template: values from the environment's config. */
export interface EstimateInputs {
  /** AWS region of the stack: selects the price table. */
  readonly region: string;
  /** The environment's usage assumptions (environments/, `cost.usage`). */
  readonly usage: UsageProfile;
  /**
   * Tasks each ECS service runs, by service name, used only for services whose template has neither
   * `DesiredCount` nor a scalable target's `MinCapacity` (the bot, so a deploy cannot undo an
   * emergency scale-to-zero). From `bot.desiredCount` / `ml.desiredCount`.
   */
  readonly serviceTaskCounts: Readonly<Record<string, number>>;
  /** Log groups with their own usage figure, by log-group name: GB a day and the profile field. */
  readonly logGroupGbPerDay: Readonly<Record<string, { readonly gbPerDay: number; readonly field: string }>>;
}

/** What a pricer sees. */
export interface PricerContext {
  readonly logicalId: string;
  readonly resource: CfnResource;
  readonly template: CfnTemplate;
  readonly inputs: EstimateInputs;
}

/** The estimate of one template. */
export interface StackEstimate {
  readonly stackName: string;
  readonly region: string;
  readonly lines: readonly CostLine[];
  /** Resources of types the coverage table does not know (each a decision someone must make). */
  readonly uncovered: readonly UncoveredResource[];
  /** Resources looked at, and how many of them were free by the coverage table. */
  readonly resourceCount: number;
  readonly freeCount: number;
}

/** The readable name of a resource: its physical name, else its construct path without the stack. */
export function nameOf(logicalId: string, resource: CfnResource): string {
  return physicalName(resource) ?? constructPath(resource) ?? logicalId;
}

/** The coverage entry of a resource type, or undefined when nobody decided how it is billed. */
export function coverageOf(type: string): Coverage | undefined {
  return Object.prototype.hasOwnProperty.call(COVERAGE, type) ? COVERAGE[type] : undefined;
}

/** Prices every resource of `template` (fixed and usage lines) with the table of `inputs.region`. */
export function estimateTemplate(
  stackName: string,
  template: CfnTemplate,
  inputs: EstimateInputs,
): StackEstimate {
  const lines: CostLine[] = [];
  const uncovered: UncoveredResource[] = [];
  let freeCount = 0;
  const resources = resourcesOf(template);
  for (const [logicalId, resource] of Object.entries(resources)) {
    const coverage = coverageOf(resource.Type);
    if (!coverage) {
      uncovered.push({ logicalId, type: resource.Type });
      continue;
    }
    if (coverage.treatment !== 'priced') {
      freeCount++;
      continue;
    }
    const context: PricerContext = { logicalId, resource, template, inputs };
    for (const draft of coverage.price(context)) {
      const row = priceOf(inputs.region, draft.priceId);
      lines.push({
        ...draft,
        logicalId,
        type: resource.Type,
        name: nameOf(logicalId, resource),
        service: coverage.service,
        dimension: row.dimension,
        unit: row.unit,
        unitUsd: row.usd,
        // Nothing at all of a dimension costs nothing, whatever its price.
        monthlyUsd: draft.quantity === 0 ? 0 : row.usd === 'unknown' ? undefined : draft.quantity * row.usd,
      });
    }
  }
  return {
    stackName,
    region: inputs.region,
    lines,
    uncovered,
    resourceCount: Object.keys(resources).length,
    freeCount,
  };
}

/** A sum that knows whether some of its parts were unknown. */
export interface Total {
  readonly usd: number;
  /** Lines whose price is unknown: the real total is higher by their cost. */
  readonly unknownLines: number;
}

/** Sums the lines of one kind (or all). */
export function totalOf(lines: readonly CostLine[], kind?: CostKind): Total {
  let usd = 0;
  let unknownLines = 0;
  for (const line of lines) {
    if (kind && line.kind !== kind) continue;
    if (line.monthlyUsd === undefined) unknownLines++;
    else usd += line.monthlyUsd;
  }
  return { usd, unknownLines };
}
