/**
 * The `aws` commands of docs/first-deploy.md against the AWS service models botocore ships (the
 * models the AWS CLI is generated from): each `aws <service> <operation>` is a real operation and
 * each `--option` one of its parameters. Python: PYTHON, else `.venv/bin/python` (`npm run tools`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docCommands } from './commands';

const ROOT = path.join(__dirname, '..', '..');
const python = process.env.PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
// AWS CLI customizations: commands the CLI adds on top of the service API.
const CLI_CUSTOMIZATIONS = new Set(['ecr get-login-password']);
const GLOBAL_OPTIONS = new Set(['--region', '--profile', '--output', '--query']);

const CHECK = `
import json, sys, botocore.session
from botocore import xform_name
session = botocore.session.get_session()
out = []
for service, op, options in json.load(sys.stdin):
    model = session.get_service_model(service)
    names = {xform_name(n, '-'): n for n in model.operation_names}
    if op not in names:
        out.append(f"aws {service} {op}: no such operation")
        continue
    shape = model.operation_model(names[op]).input_shape
    members = {xform_name(m, '-') for m in (shape.members if shape else {})}
    for o in options:
        if o not in members:
            out.append(f"aws {service} {op}: no parameter --{o}")
print(json.dumps(out))
`;

test('every aws command in docs/first-deploy.md is a real AWS CLI operation with real parameters', () => {
  expect(fs.existsSync(python)).toBe(true);
  const aws = docCommands('docs/first-deploy.md').filter((c) => c.tool === 'aws');
  expect(aws.length).toBeGreaterThanOrEqual(4);
  const api = aws.filter((c) => !CLI_CUSTOMIZATIONS.has(c.words.slice(0, 2).join(' ')));
  const input = api.map((c) => [
    c.words[0],
    c.words[1],
    c.words.filter((w) => w.startsWith('--') && !GLOBAL_OPTIONS.has(w)).map((w) => w.slice(2)),
  ]);
  const res = spawnSync(python, ['-c', CHECK], { input: JSON.stringify(input), encoding: 'utf8' });
  expect(res.stderr).toBe('');
  expect(JSON.parse(res.stdout)).toEqual([]);
  // The check can fail: a made-up operation and parameter are reported.
  const bad = spawnSync(python, ['-c', CHECK], {
    input: JSON.stringify([
      ['secretsmanager', 'put-secret-value', ['secret-name']],
      ['iam', 'make-role', []],
    ]),
    encoding: 'utf8',
  });
  expect(JSON.parse(bad.stdout)).toEqual([
    'aws secretsmanager put-secret-value: no parameter --secret-name',
    'aws iam make-role: no such operation',
  ]);
});
