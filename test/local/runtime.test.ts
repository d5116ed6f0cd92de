import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  localDataDir,
  runningStandIn,
  SYSTEM_DATA_ROOT,
  unreachableForServerUser,
} from '../../lib/local/runtime';

describe('where npm run local keeps PostgreSQL data', () => {
  test('in the clone when the server user can reach it', () => {
    expect(localDataDir({ env: {}, root: '/home/ana/clever-better', isRoot: false })).toBe(
      '/home/ana/clever-better/.local/postgres',
    );
    expect(localDataDir({ env: {}, root: '/work/clone', isRoot: true, unreachable: () => undefined })).toBe(
      '/work/clone/.local/postgres',
    );
  });

  test('as root in a mode-700 home: outside the clone, one directory per clone, where postgres can reach it', () => {
    const blocked = () => '/root';
    const a = localDataDir({ env: {}, root: '/root/clever-better', isRoot: true, unreachable: blocked });
    const b = localDataDir({
      env: {},
      root: '/root/other/clever-better',
      isRoot: true,
      unreachable: blocked,
    });
    expect(a).toMatch(new RegExp(`^${SYSTEM_DATA_ROOT}/clever-better-[0-9a-f]{12}/postgres$`));
    expect(b).not.toBe(a);
    // The same clone finds its data again on the next run.
    expect(localDataDir({ env: {}, root: '/root/clever-better', isRoot: true, unreachable: blocked })).toBe(
      a,
    );
  });

  test('CLEVER_BETTER_LOCAL_DATA names another directory', () => {
    expect(
      localDataDir({ env: { CLEVER_BETTER_LOCAL_DATA: '/srv/pg' }, root: '/root/x', isRoot: true }),
    ).toBe('/srv/pg');
  });

  test('a real mode-700 directory on the way is found (as root), and the system directory is reachable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-700-'));
    try {
      fs.chmodSync(dir, 0o700);
      const inside = path.join(dir, 'clone', '.local', 'postgres');
      if (process.getuid?.() === 0) {
        expect(unreachableForServerUser(inside)).toBe(dir);
        expect(unreachableForServerUser(path.join(SYSTEM_DATA_ROOT, 'x', 'postgres'))).toBeUndefined();
      } else expect(unreachableForServerUser(inside)).toBeUndefined(); // the server runs as this user
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a second npm run local', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-runtime-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (pid: number) => {
    const file = path.join(dir, 'runtime.json');
    fs.writeFileSync(file, JSON.stringify({ pid, awsEndpoint: 'http://127.0.0.1:1', lambdaEndpoint: 'x' }));
    return file;
  };

  test('finds the first one while its process lives', () => {
    expect(runningStandIn(write(process.ppid))?.pid).toBe(process.ppid);
  });

  test('ignores a runtime file left by a process that has ended, and a missing one', () => {
    // Pids wrap far below 2^22 on Linux (pid_max), so this one is not running.
    expect(runningStandIn(write(4_194_304 + 7))).toBeUndefined();
    expect(runningStandIn(path.join(dir, 'none.json'))).toBeUndefined();
  });
});
