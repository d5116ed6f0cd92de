import type { Client } from 'pg';

/**
 * The whole-file deadline. `statement_timeout` restarts for every statement of a multi-statement
 * query (PostgreSQL >= 13), so a file of ten 1-minute statements outlives a 5-minute timeout. At
 * the deadline the watchdog opens a second connection and calls `pg_cancel_backend` on the
 * migrating session: the running statement fails, and with it the file's implicit transaction,
 * which rolls back whole.
 *
 * A cancel that arrives after the file finished is harmless: PostgreSQL ignores a cancel request
 * while a session is idle, and the runner waits for the watchdog to finish before it sends its
 * next query.
 */
export interface Watchdog {
  /** Stops the timer; resolves once a cancel already under way has completed. True if it fired. */
  stop(): Promise<{ fired: boolean; error?: unknown }>;
}

/**
 * Starts a watchdog that cancels backend `pid` at `deadline` (epoch ms) through a connection from
 * `open`. An error of the watchdog itself (e.g. it cannot connect) is reported by `stop`, never
 * thrown into the migration.
 */
export function startWatchdog(deadline: number, pid: number, open: () => Promise<Client>): Watchdog {
  let fired = false;
  let error: unknown;
  let cancelling: Promise<void> | undefined;
  const timer = setTimeout(
    () => {
      fired = true;
      cancelling = (async () => {
        const client = await open();
        try {
          await client.query('SELECT pg_cancel_backend($1)', [pid]);
        } finally {
          await client.end().catch(() => undefined);
        }
      })().catch((err) => {
        error = err;
      });
    },
    Math.max(0, deadline - Date.now()),
  );
  return {
    async stop() {
      clearTimeout(timer);
      if (cancelling) await cancelling;
      return { fired, error };
    },
  };
}
