import { EnvironmentConfig } from '../../environments/types';
import { OpsContext } from '../../lib/ops/context';
import { runbookNames } from '../../lib/names';

/** A context for ops tests: fixed stack outputs, printed lines collected, a scripted confirmation answer. */
export function fakeContext(
  env: EnvironmentConfig,
  outputs: Record<string, string>,
  answer = true,
): OpsContext & { lines: string[]; questions: string[] } {
  const lines: string[] = [];
  const questions: string[] = [];
  return {
    env,
    names: runbookNames(env.name),
    outputs: async () => outputs,
    print: (line) => lines.push(line),
    confirm: async (question) => {
      questions.push(question);
      return answer;
    },
    lines,
    questions,
  };
}
