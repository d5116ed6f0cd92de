import { leaveRunTmpdir } from './run-tmpdir';

/** Jest globalTeardown of the `unit` project. */
export default function teardown(): void {
  leaveRunTmpdir();
}
