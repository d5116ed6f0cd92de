import { enterRunTmpdir } from './run-tmpdir';

/** Jest globalSetup of the `unit` project. */
export default function setup(): void {
  enterRunTmpdir();
}
