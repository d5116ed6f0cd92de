import { CostLine, EstimateInputs, estimateTemplate, totalOf } from './estimate';
import type { CfnTemplate } from '../diff/template';
import { usd } from './render';

/** How a change moves one priced dimension (e.g. `NAT gateway hour`) of a stack. */
export interface DimensionDelta {
  readonly dimension: string;
  /** USD a month, head minus base (known prices only). */
  readonly usd: number;
}

/** What a change does to a stack's monthly estimate. */
export interface CostDelta {
  /** USD a month, head minus base, over lines of known price (fixed and usage together). */
  readonly usd: number;
  readonly baseUsd: number;
  readonly headUsd: number;
  /** Per dimension, largest change first, zero changes left out. */
  readonly dimensions: readonly DimensionDelta[];
  /** Lines of unknown price, head minus base: a positive number means the real increase is larger. */
  readonly unknownLines: number;
  /**
   * USD a month of the usage lines, head minus base. Both sides are priced with one usage profile
   * (the working tree's), so this part moves with the template only, never with the assumptions.
   */
  readonly usageUsd: number;
  /**
   * Services whose task count neither side's template gives (no DesiredCount, no scalable target):
   * both sides run the count of the working tree's config, so their count change cannot show.
   */
  readonly configCounts: readonly string[];
}

function byDimension(lines: readonly CostLine[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lines) {
    if (line.monthlyUsd !== undefined)
      out.set(line.dimension, (out.get(line.dimension) ?? 0) + line.monthlyUsd);
  }
  return out;
}

// Differences below half a cent are floating-point noise, not a change of the bill.
const NOISE_USD = 0.005;

/**
 * The monthly cost change between two templates of one stack (either side may be missing). Each
 * side's task counts come from its own template (lib/cost/coverage.ts); `inputs` (one config, the
 * working tree's) supplies the usage profile and the counts no template gives.
 */
export function costDelta(
  base: CfnTemplate | undefined,
  head: CfnTemplate | undefined,
  inputs: EstimateInputs,
): CostDelta {
  const baseLines = base ? estimateTemplate('base', base, inputs).lines : [];
  const headLines = head ? estimateTemplate('head', head, inputs).lines : [];
  const baseTotal = totalOf(baseLines);
  const headTotal = totalOf(headLines);
  const before = byDimension(baseLines);
  const after = byDimension(headLines);
  const dimensions = [...new Set([...before.keys(), ...after.keys()])]
    .map((dimension) => ({ dimension, usd: (after.get(dimension) ?? 0) - (before.get(dimension) ?? 0) }))
    .filter((d) => Math.abs(d.usd) >= NOISE_USD)
    .sort((a, b) => Math.abs(b.usd) - Math.abs(a.usd));
  return {
    usd: headTotal.usd - baseTotal.usd,
    baseUsd: baseTotal.usd,
    headUsd: headTotal.usd,
    dimensions,
    unknownLines: headTotal.unknownLines - baseTotal.unknownLines,
    usageUsd: totalOf(headLines, 'usage').usd - totalOf(baseLines, 'usage').usd,
    configCounts: [
      ...new Set(
        [...baseLines, ...headLines].flatMap((l) => (l.configCount === undefined ? [] : [l.configCount])),
      ),
    ].sort(),
  };
}

/** `+$35.04`, `-$3.00`: a signed amount. */
export function signedUsd(amount: number): string {
  return amount >= 0 ? `+${usd(amount)}` : usd(amount);
}

/** Whether a delta is worth a line in the pull-request comment. */
export function isCostChange(delta: CostDelta): boolean {
  return Math.abs(delta.usd) >= NOISE_USD || delta.unknownLines !== 0;
}

/**
 * The pull-request line: `+$38.69/month in production (NAT gateway hour +$35.04, Public IPv4 address
 * in use +$3.65)`. At most `top` dimensions are named; the rest are counted.
 */
export function costDeltaSentence(environment: string, delta: CostDelta, top = 3): string {
  const named = delta.dimensions.slice(0, top).map((d) => `${d.dimension} ${signedUsd(d.usd)}`);
  const more = delta.dimensions.length - named.length;
  if (more > 0) named.push(`${more} more`);
  const notes: string[] = [];
  if (named.length > 0) notes.push(named.join(', '));
  if (delta.unknownLines !== 0) {
    const n = Math.abs(delta.unknownLines);
    notes.push(
      `${delta.unknownLines > 0 ? '+' : ''}${delta.unknownLines} line${n === 1 ? '' : 's'} of unknown price`,
    );
  }
  if (Math.abs(delta.usageUsd) >= NOISE_USD)
    notes.push(`usage lines ${signedUsd(delta.usageUsd)}: usage assumptions from the head's config`);
  if (delta.configCounts.length > 0) {
    const plural = delta.configCounts.length === 1 ? '' : 's';
    notes.push(
      `${delta.configCounts.join(', ')} task count${plural} from the head's config desiredCount, the same on both sides`,
    );
  }
  const detail = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  return `${signedUsd(delta.usd)}/month in ${environment}${detail}`;
}
