import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleInputsHash, LAMBDA_ROOT } from '../lib/project-function';

/** The asset hash decides whether a repeated synth may reuse a bundle: it must follow every input. */
describe('bundleInputsHash', () => {
  const entry = (name: string) => path.join(LAMBDA_ROOT, name, 'index.ts');

  test('is stable while nothing changes', () => {
    expect(bundleInputsHash(entry('rollback'))).toBe(bundleInputsHash(entry('rollback')));
  });

  test('differs per function, so two functions never share a bundle', () => {
    const hashes = ['rollback', 'emergency-stop', 'db-migrate'].map((n) => bundleInputsHash(entry(n)));
    expect(new Set(hashes).size).toBe(3);
  });

  test('changes when an extra input (e.g. the migrations a hook copies) changes, is added or is removed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-inputs-'));
    fs.writeFileSync(path.join(dir, '1_a.up.sql'), 'SELECT 1;');
    const first = bundleInputsHash(entry('db-migrate'), [dir]);
    fs.writeFileSync(path.join(dir, '1_a.up.sql'), 'SELECT 2;');
    const edited = bundleInputsHash(entry('db-migrate'), [dir]);
    fs.writeFileSync(path.join(dir, '2_b.up.sql'), 'SELECT 3;');
    const added = bundleInputsHash(entry('db-migrate'), [dir]);
    fs.rmSync(path.join(dir, '2_b.up.sql'));
    expect(new Set([first, edited, added]).size).toBe(3);
    expect(bundleInputsHash(entry('db-migrate'), [dir])).toBe(edited);
    expect(bundleInputsHash(entry('db-migrate'))).not.toBe(edited);
  });
});
