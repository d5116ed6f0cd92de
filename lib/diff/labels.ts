import { closestKey } from '../../environments/keys';
import { LABELS } from './types';

/** Every override label a rule names (lib/diff/rules.ts `LABELS`). */
export const OVERRIDE_LABELS: readonly string[] = Object.values(LABELS);

/** The prefixes the override labels use: a label with one of them is meant as an override. */
const OVERRIDE_PREFIXES = [...new Set(OVERRIDE_LABELS.map((l) => `${l.split('-')[0]}-`))];

/** An override label without its prefix (`allow-destructive` → `destructive`): a label a person may write for it. */
const OVERRIDE_TAILS = new Map(OVERRIDE_LABELS.map((l) => [l.slice(l.indexOf('-') + 1), l]));

/** How a person may have meant an override: case, `_` or spaces for `-`, the prefix left off, or typos. */
function meantOverride(label: string): string | undefined {
  const norm = label
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  if (OVERRIDE_LABELS.includes(norm)) return norm;
  const tail =
    OVERRIDE_TAILS.get(norm) ?? OVERRIDE_TAILS.get(closestKey(norm, [...OVERRIDE_TAILS.keys()]) ?? '');
  return tail ?? closestKey(norm, OVERRIDE_LABELS);
}

/**
 * The problem with a pull request's labels, or undefined. A pull request carries other labels too
 * (`bug`, `docs`), which the diff ignores; but a label that looks like an override (an override's
 * prefix, or a few typos, a case or separator change, or the prefix away from one: `destructive`,
 * `Allow_Destructive`) and is none would silently not apply, so it is an error
 * naming the label, the closest override and every override label.
 */
export function labelProblem(labels: readonly string[]): string | undefined {
  for (const label of labels) {
    if (OVERRIDE_LABELS.includes(label)) continue;
    const closest = meantOverride(label);
    if (!closest && !OVERRIDE_PREFIXES.some((p) => label.startsWith(p))) continue;
    return (
      `--labels "${label}" is not an override label${closest ? `: did you mean "${closest}"?` : '.'} ` +
      `Fix: use one of ${OVERRIDE_LABELS.join(', ')} (docs/deployment.md "Diff rules"); other labels are ignored.`
    );
  }
  return undefined;
}
