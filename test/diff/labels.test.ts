import { parseDiffArgs } from '../../lib/diff/cli';
import { labelProblem, OVERRIDE_LABELS } from '../../lib/diff/labels';
import { LABELS } from '../../lib/diff/types';

describe('--labels: a label meant as an override but misspelt is an error, other labels are ignored', () => {
  test('every override label a rule names is accepted', () => {
    expect(OVERRIDE_LABELS).toEqual(Object.values(LABELS));
    expect(labelProblem([...OVERRIDE_LABELS])).toBeUndefined();
  });

  test.each([['bug'], ['documentation'], ['dependencies'], ['good first issue']])(
    'a pull request label that is no override (%s) is ignored',
    (label) => {
      expect(labelProblem([label])).toBeUndefined();
    },
  );

  // Derived from the rules' labels: each one with a letter dropped, and with two letters swapped.
  const typos = OVERRIDE_LABELS.flatMap((label) => [
    [label.slice(0, 4) + label.slice(5), label],
    [label.slice(0, 7) + label[8] + label[7] + label.slice(9), label],
  ]);
  test.each(typos)('"%s" fails naming the label, "did you mean %s", and every override', (typo, meant) => {
    expect(labelProblem(['bug', typo])).toBe(
      `--labels "${typo}" is not an override label: did you mean "${meant}"? ` +
        `Fix: use one of ${OVERRIDE_LABELS.join(', ')} (docs/deployment.md "Diff rules"); other labels are ignored.`,
    );
  });

  // Derived too: each override without its prefix, in capitals, and with `_` or spaces for `-`.
  const variants = OVERRIDE_LABELS.flatMap((label) => [
    [label.slice(label.indexOf('-') + 1), label],
    [label.toUpperCase(), label],
    [label.replace(/-/g, '_'), label],
    [label.replace(/-/g, ' '), label],
  ]);
  test.each(variants)('"%s" (the way a person may write it) fails, "did you mean %s"', (variant, meant) => {
    expect(labelProblem([variant])).toMatch(
      new RegExp(`^--labels "${variant}" is not an override label: did you mean "${meant}"\\? Fix:`),
    );
  });

  test('a label with an override prefix but far from every override fails too', () => {
    expect(labelProblem(['allow-everything-please'])).toMatch(
      /^--labels "allow-everything-please" is not an override label\. Fix: use one of /,
    );
  });

  test('the diff command line refuses it before anything is synthesized', () => {
    expect(() => parseDiffArgs(['--base', 'origin/main', '--labels', 'bug,allow-destrucive'])).toThrow(
      /--labels "allow-destrucive" is not an override label: did you mean "allow-destructive"\?/,
    );
  });
});
