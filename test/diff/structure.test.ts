import * as fs from 'node:fs';
import * as path from 'node:path';

// lib/diff is split by concern with its shared types in types.ts: no module imports one that
// (directly or through others) imports it back. Read from the sources, so a new file is checked too.
const DIR = path.join(__dirname, '..', '..', 'lib', 'diff');

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(DIR, file), 'utf8');
  // `import … from './x'`, `export … from './x'`, `import './x'` and `require('./x')`.
  const specifiers = [
    ...text.matchAll(/^(?:import|export)[^;]*?from '\.\/([^']+)'/gms),
    ...text.matchAll(/^import '\.\/([^']+)'/gm),
    ...text.matchAll(/require\('\.\/([^']+)'\)/g),
  ];
  return specifiers.map((m) => `${m[1]}.ts`);
}

describe('lib/diff module structure', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.ts'));
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  test('reads the imports of every module (the check is not vacuous)', () => {
    expect(graph.get('summary.ts')).toEqual(expect.arrayContaining(['rules.ts', 'types.ts']));
    expect(files.length).toBeGreaterThan(15);
  });

  test('has no import cycle', () => {
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (trail.includes(file)) {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
