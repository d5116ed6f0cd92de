import { Moto } from '../../lib/local/moto';
import { MOTO_GLOBAL } from './integration-setup';
import { leaveRunTmpdir } from './run-tmpdir';

/** Stops the emulator integration-setup started (if it started one). */
export default async function teardown(): Promise<void> {
  await ((globalThis as Record<string, unknown>)[MOTO_GLOBAL] as Moto | undefined)?.stop();
  leaveRunTmpdir();
}
