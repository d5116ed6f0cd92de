/**
 * `npm run build` (and `npm test`) type-check with TypeScript 7 and tsconfig.check.json, while the
 * code runs as CommonJS through swc and ts-node. The check must refuse what CommonJS cannot run:
 * a probe file with top-level `await` and `import.meta` is checked with the project's own config.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

test('the TypeScript 7 check refuses top-level await and import.meta, which CommonJS cannot run', () => {
  // Inside the clone (a tsconfig `extends` is resolved relative to its own file); removed after.
  const dir = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.cache-typecheck-probe-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'probe.ts'),
      'export const n = await Promise.resolve(1);\nexport const url = import.meta.url;\n',
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.check.json', include: ['probe.ts'], exclude: [] }),
    );
    const res = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'typescript-7', 'bin', 'tsc'), '-p', dir],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(res.status).not.toBe(0);
    expect(res.stdout).toMatch(/probe\.ts\(1,\d+\): error TS1378: Top-level 'await'/);
    expect(res.stdout).toMatch(/probe\.ts\(2,\d+\): error TS1343: The 'import\.meta'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
