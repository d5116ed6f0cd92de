/**
 * The validators of environments/ share only `problem.ts` (the problem type) and `types.ts`: none
 * imports another validator, so each can be read, tested and changed alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const DIR = path.join(__dirname, '..', 'environments');

test('no environments/validate*.ts imports another validate*.ts', () => {
  const files = fs.readdirSync(DIR).filter((f) => /^validate.*\.ts$/.test(f));
  expect(files.length).toBeGreaterThanOrEqual(2);
  const violations: string[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(DIR, file), 'utf8');
    for (const m of text.matchAll(/from '\.\/(validate[^']*)'/g))
      if (file !== 'validate.ts' || !/^validate-/.test(m[1]))
        violations.push(`${file} imports ./${m[1]}: import ConfigProblem from ./problem`);
  }
  expect(violations).toEqual([]);
});
