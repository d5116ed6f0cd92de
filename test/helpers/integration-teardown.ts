import { ChildProcess } from 'node:child_process';
import { MOTO_GLOBAL } from './integration-setup';
import { leaveRunTmpdir } from './run-tmpdir';

/** Stops the emulator integration-setup started (if it started one). */
export default async function teardown(): Promise<void> {
  const moto = (globalThis as Record<string, unknown>)[MOTO_GLOBAL] as ChildProcess | undefined;
  if (moto && moto.exitCode === null) {
    const exited = new Promise((resolve) => moto.once('exit', resolve));
    moto.kill('SIGTERM');
    await exited;
  }
  leaveRunTmpdir();
}
