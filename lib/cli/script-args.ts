/**
 * The command line of the npm scripts that are not `ops` (drill, local, validate, the benches): one
 * grammar with `ops`: `-h`/`--help` prints the usage on stdout and exits 0; any other word the script
 * does not declare is a usage error (exit 2) that names it and shows the usage, before any work.
 */
import { closestKey } from '../../environments/keys';

/** What a script accepts. */
export interface ScriptSpec {
  /** How it is run, e.g. `npm run drill`. */
  readonly command: string;
  /** One or two sentences: what it does and what its exit codes mean. */
  readonly description: string;
  /** Flags it accepts besides -h/--help, each with one line of help. @default none */
  readonly flags?: Readonly<Record<string, string>>;
}

/** The parsed command line: the flags given, or the exit code to end with at once. */
export interface ScriptArgs {
  /** Set when the script must end at once with this code (0 after --help, 2 on a usage error). */
  readonly exit?: 0 | 2;
  /** The declared flags given, by name without `--`. */
  readonly flags: ReadonlySet<string>;
}

/** The usage text of a script. */
export function scriptUsage(spec: ScriptSpec): string {
  const flags = Object.entries(spec.flags ?? {});
  return [
    `Usage: ${spec.command}${flags.map(([f]) => ` [--${f}]`).join('')}`,
    '',
    spec.description,
    '',
    'Options:',
    ...flags.map(([f, help]) => `  --${f.padEnd(12)}${help}`),
    `  ${'-h, --help'.padEnd(14)}this text`,
  ].join('\n');
}

/**
 * Parses argv (after the script's name) against `spec`, printing the usage or the error itself:
 * when `exit` is set, the caller ends with it and does nothing else.
 */
export function parseScriptArgs(
  argv: readonly string[],
  spec: ScriptSpec,
  io: { out(text: string): void; err(text: string): void } = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  },
): ScriptArgs {
  const flags = new Set<string>();
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(`${scriptUsage(spec)}\n`);
    return { exit: 0, flags };
  }
  for (const word of argv) {
    const name = word.startsWith('--') ? word.slice(2) : undefined;
    if (name === undefined || !(name in (spec.flags ?? {}))) {
      const accepted = Object.keys(spec.flags ?? {}).map((f) => `--${f}`);
      const near =
        name === undefined ? undefined : closestKey(name, [...Object.keys(spec.flags ?? {}), 'help']);
      io.err(
        `${spec.command} does not take "${word}"${near ? ` (did you mean --${near}?)` : ''}: it accepts ${[...accepted, '-h/--help'].join(', ')}\n\n${scriptUsage(spec)}\n`,
      );
      return { exit: 2, flags };
    }
    if (flags.has(name)) {
      io.err(`--${name} is given twice: give it once\n`);
      return { exit: 2, flags };
    }
    flags.add(name);
  }
  return { flags };
}
