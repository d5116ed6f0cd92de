import { OpsContext } from './context';

/** Parsed command line: positional words after the command name, and `--flag value` options. */
export interface OpsArgs {
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean>>;
}

/**
 * How an option is written: `value` takes the next word (or `--name=value`), `flag` stands alone
 * (`--yes`) and refuses a value, so `--yes=no` is a usage error rather than a yes.
 */
export type OptionKind = 'value' | 'flag';

/** One `npm run ops -- <name> …` command. */
export interface OpsCommand {
  /** One line for `ops help`, including its usage. */
  readonly usage: string;
  /**
   * Every option the command reads besides `--env`, by name. Any other option is a usage error
   * (exit 2) before any AWS call: an ignored `--dry-run` on a command that acts is how trading
   * gets stopped by surprise.
   */
  readonly options: Readonly<Record<string, OptionKind>>;
  /** How many positional words the command takes at most. @default 0 */
  readonly maxPositionals?: number;
  /**
   * Options that must not be given together, each pair with the reason, e.g. `['dry-run', 'yes']`.
   * @default none
   */
  readonly conflicts?: readonly (readonly [string, string])[];
  /**
   * Why the command does not apply to `--env local` (the stand-in), in a few words; the command then
   * refuses `--env local` in one line, before any work. @default it applies to local too
   */
  readonly notLocal?: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: OpsArgs, ctx: OpsContext): Promise<number>;
}

/**
 * Options every command accepts: `--env`, and `--endpoint-url <url>` to send every AWS call of the
 * run to an emulator on purpose (an inherited loopback `AWS_ENDPOINT_URL` is refused).
 */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionKind>> = { env: 'value', 'endpoint-url': 'value' };

/**
 * Registry of ops commands, one module each under lib/ops/. Each command module registers itself
 * here by name, so adding a command touches only its own file and one import in `index.ts`.
 */
export const commands = new Map<string, OpsCommand>();

export function registerCommand(name: string, command: OpsCommand): void {
  commands.set(name, command);
}
