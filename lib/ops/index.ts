import { commands, GLOBAL_OPTIONS, OpsArgs, OptionKind } from './commands';
import { operableEnvironments } from '../../environments';
import {
  awsContext,
  credentialsProblem,
  findEnvironment,
  OpsContext,
  refuseInheritedEmulator,
  UsageError,
  useEndpoint,
} from './context';
// Each import registers one command.
import './emergency-stop';
import './migrate';
import './pager';
import './preflight';
import './protect';
import './release';
import './resume';
import './rollback';
import './status';
import { closestKey } from '../../environments/keys';

/**
 * Splits argv into the command, positionals and options, checked against the command's declared
 * options: an unknown option, a flag given a value, a value option without one, too many
 * positionals or two conflicting options are a {@link UsageError}, before any AWS call.
 */
export function parseArgs(argv: readonly string[]): { command: string | undefined; args: OpsArgs } {
  const [command, ...rest] = argv;
  const spec = command ? commands.get(command) : undefined;
  const known: Record<string, OptionKind> = { ...GLOBAL_OPTIONS, ...spec?.options };
  const positionals: string[] = [];
  const options: Record<string, string | boolean> = {};
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i];
    if (word === '-h') continue; // help, handled by main() before parsing
    if (!word.startsWith('--')) {
      positionals.push(word);
      continue;
    }
    const [name, inline] = word.slice(2).split(/=(.*)/s, 2);
    const kind = known[name];
    if (spec && kind === undefined) {
      const accepted = Object.keys(known).map((o) => `--${o}`);
      const near = closestKey(name, Object.keys(known));
      throw new UsageError(
        `${command} does not take --${name}${near ? ` (did you mean --${near}?)` : ''}: it accepts ${accepted.join(', ')} (npm run ops -- ${command} --help)`,
      );
    }
    if (name in options) throw new UsageError(`--${name} is given twice: give it once`);
    if (kind === 'flag') {
      if (inline !== undefined)
        throw new UsageError(
          `--${name} is a flag and takes no value (got "${inline}"): write --${name} alone`,
        );
      options[name] = true;
    } else if (inline !== undefined) options[name] = inline;
    else if (rest[i + 1] !== undefined && !rest[i + 1].startsWith('--')) options[name] = rest[++i];
    else if (spec) throw new UsageError(`--${name} needs a value: --${name} <value>`);
    else options[name] = true;
  }
  if (spec) {
    const max = spec.maxPositionals ?? 0;
    if (positionals.length > max)
      throw new UsageError(
        `${command} takes ${max === 0 ? 'no positional arguments' : `at most ${max} positional argument(s)`}, got ${JSON.stringify(positionals)}: ${spec.usage.split('   ')[0]}`,
      );
    for (const [a, b] of spec.conflicts ?? [])
      if (a in options && b in options)
        throw new UsageError(`--${a} and --${b} contradict each other: give one of them`);
  }
  return { command, args: { positionals, options } };
}

/** Every `--env` value ops accepts, e.g. `staging|production|local`. */
export const ENV_VALUES = operableEnvironments.map((e) => e.name).join('|');

/** The usage of every command; `ops help`, `ops --help` and a usage error print it. */
export function usage(): string {
  return [
    `Usage: npm run ops -- <command> --env <${ENV_VALUES}> [options]`,
    '       npm run ops -- <command> --help   (one command, its options and exit codes)',
    '',
    ...[...commands].map(([, c]) => `  ${c.usage}`),
    '',
    'Exit codes: 0 done (status: all well), 1 something a person must look at, 2 usage error.',
  ].join('\n');
}

/** One command's help: its usage line, every --env value it accepts, and the exit codes. */
export function commandHelp(name: string): string {
  const cmd = commands.get(name)!;
  const envs = operableEnvironments.map((e) => e.name).filter((e) => e !== 'local' || !cmd.notLocal);
  const own = Object.entries(cmd.options).map(([o, kind]) => `  --${o}${kind === 'value' ? ' <value>' : ''}`);
  return [
    `Usage: npm run ops -- ${cmd.usage}`,
    '',
    'Options:',
    `  --env <${envs.join('|')}>${cmd.notLocal ? `   (not local: ${cmd.notLocal})` : ''}`,
    ...own,
    '  --endpoint-url <url>   every AWS call of this run to <url> (an emulator), whatever AWS_ENDPOINT_URL* say',
    '  -h, --help',
    '',
    'Exit codes: 0 done, 1 something a person must look at, 2 usage error.',
  ].join('\n');
}

/** Runs the ops CLI; `makeContext` is replaceable so tests can run commands against mocks. */
export async function main(
  argv: readonly string[],
  makeContext: (args: OpsArgs) => OpsContext = (args) =>
    awsContext(findEnvironment(args.options.env as string | undefined), { yes: args.options.yes === true }),
): Promise<number> {
  const command = argv[0];
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const cmd = command ? commands.get(command) : undefined;
  if (!cmd) {
    // No command is a usage error too: a script that forgot it must not read "done".
    process.stderr.write(
      `${command === undefined ? 'A command is missing.' : `Unknown command "${command}".`}\n${usage()}\n`,
    );
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${commandHelp(command!)}\n`);
    return 0;
  }
  let ctx: OpsContext | undefined;
  let restoreEndpoint: (() => void) | undefined;
  try {
    const { args } = parseArgs(argv);
    if (cmd.notLocal && args.options.env === 'local')
      throw new UsageError(`${command} does not apply to --env local: ${cmd.notLocal}`);
    const envName = typeof args.options.env === 'string' ? args.options.env : undefined;
    // An explicit `--endpoint-url` replaces every inherited endpoint for this run; without it, an
    // inherited one that points at this machine is refused.
    if (typeof args.options['endpoint-url'] === 'string')
      restoreEndpoint = useEndpoint(args.options['endpoint-url']);
    else refuseInheritedEmulator(envName);
    ctx = makeContext(args);
    return await cmd.run(args, ctx);
  } catch (err) {
    const explained = ctx && credentialsProblem(err, ctx.env, undefined, command);
    process.stderr.write(`error: ${explained ?? (err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    // The option is this run's, not the process's: a later run in the same process starts clean.
    restoreEndpoint?.();
  }
}
