import { Migrator } from './runner';

/** A migrator on its own connection; `close` ends the connection (and with it any lock). */
export interface MigratorSession {
  readonly migrator: Migrator;
  close(): Promise<void>;
}

/**
 * Opens a session. `deadline` (epoch ms) is when the runner must have stopped; `log` receives the
 * CLI-style line of every step as it completes.
 */
export type OpenSession = (options: {
  deadline: number;
  log: (line: string) => void;
}) => Promise<MigratorSession>;

/** Runs `work` on a fresh session and always closes it. */
export async function withSession<T>(
  open: OpenSession,
  options: { deadline: number; log: (line: string) => void },
  work: (migrator: Migrator) => Promise<T>,
): Promise<T> {
  const session = await open(options);
  try {
    return await work(session.migrator);
  } finally {
    await session.close().catch(() => undefined);
  }
}
