import { OpsContext } from './context';

/** Parsed command line: positional words after the command name, and `--flag value` options. */
export interface OpsArgs {
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean>>;
}

/** One `npm run ops -- <name> …` command. */
export interface OpsCommand {
  /** One line for `ops help`, including its usage. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: OpsArgs, ctx: OpsContext): Promise<number>;
}

/**
 * Registry of ops commands, one module each under lib/ops/. Each command module registers itself
 * here by name, so adding a command touches only its own file and one import in `index.ts`.
 */
export const commands = new Map<string, OpsCommand>();

export function registerCommand(name: string, command: OpsCommand): void {
  commands.set(name, command);
}
