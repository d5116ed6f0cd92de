/** One configuration problem: which field, what value, and how to fix it. */
export interface ConfigProblem {
  readonly field: string;
  readonly value: unknown;
  readonly problem: string;
  readonly fix: string;
}
