// Connects the way the migration function does (lambda/db-migrate/connection.ts) and prints one JSON
// line. Run in a child process by tls.integration.test.ts, because NODE_EXTRA_CA_CERTS is read only
// when Node starts, exactly as on Lambda.
import { clientConfig, connect } from '../../lambda/db-migrate/connection';

async function main(): Promise<void> {
  const env = process.env;
  const settings = {
    host: env.PROBE_HOST!,
    port: Number(env.PROBE_PORT),
    database: 'postgres',
    secretId: 'unused',
    connectTimeoutMs: 5_000,
    lockTimeoutMs: 1_000,
  };
  try {
    const client = await connect(
      clientConfig(settings, { username: env.PROBE_USER!, password: env.PROBE_PASSWORD! }),
    );
    const { rows } = await client.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    await client.end();
    process.stdout.write(`${JSON.stringify({ ok: true, ...rows[0] })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, message: (err as Error).message })}\n`);
  }
}

void main();
