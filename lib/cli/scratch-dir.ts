import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Exit codes of a process ended by a signal, as a shell reports them (128 + the signal's number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * A new temporary directory that is removed however the script ends: normally, by an uncaught
 * error, or by SIGINT/SIGTERM (a person's Ctrl-C, a CI step's timeout), after which the process
 * exits with the signal's usual code. Scripts must leave nothing in the shared temporary directory.
 */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  for (const [signal, code] of Object.entries(SIGNAL_EXIT))
    process.once(signal, () => {
      remove();
      process.exit(code); // runs the other scratch directories' 'exit' removals too
    });
  return dir;
}
