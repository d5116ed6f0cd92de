import { closestKey } from '../../environments/keys';
import { LABELS } from './types';

/** Every override label a rule names (lib/diff/rules.ts `LABELS`). */
export const OVERRIDE_LABELS: readonly string[] = Object.values(LABELS);

/** The prefixes the override labels use: a label with one of them is meant as an override. */
const OVERRIDE_PREFIXES = [...new Set(OVERRIDE_LABELS.map((l) => `${l.split('-')[0]}-`))];

/**
 * The problem with a pull request's labels, or undefined. A pull request carries other labels too
 * (`bug`, `docs`), which the diff ignores; but a label that looks like an override (an override's
 * prefix, or a few typos away from one) and is none would silently not apply, so it is an error
 * naming the label, the closest override and every override label.
 */
export function labelProblem(labels: readonly string[]): string | undefined {
  for (const label of labels) {
    if (OVERRIDE_LABELS.includes(label)) continue;
    const closest = closestKey(label, OVERRIDE_LABELS);
    if (!closest && !OVERRIDE_PREFIXES.some((p) => label.startsWith(p))) continue;
    return (
      `--labels "${label}" is not an override label${closest ? `: did you mean "${closest}"?` : '.'} ` +
      `Fix: use one of ${OVERRIDE_LABELS.join(', ')} (docs/deployment.md "Diff rules"); other labels are ignored.`
    );
  }
  return undefined;
}
