import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const python = process.env.PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');

/**
 * Runs `aws <service> <operation> --option value …` commands as the AWS CLI would, through botocore
 * (the library the CLI is built on, with the same service models): each option is mapped to its
 * API parameter and converted to the parameter's type. No AWS CLI install needed; the endpoint is
 * given explicitly (an emulator).
 */
const RUN = `
import json, sys, botocore.session
from botocore import xform_name
req = json.load(sys.stdin)
session = botocore.session.get_session()
out = []
for words in req["commands"]:
    service, op, rest = words[0], words[1], words[2:]
    client = session.create_client(service, region_name=req["region"], endpoint_url=req["endpoint"],
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
    model = client.meta.service_model
    names = {xform_name(n, '-'): n for n in model.operation_names}
    operation = model.operation_model(names[op])
    members = {xform_name(m, '-'): (m, s) for m, s in (operation.input_shape.members.items() if operation.input_shape else [])}
    params = {}
    i = 0
    while i < len(rest):
        opt = rest[i][2:]
        value = rest[i + 1] if i + 1 < len(rest) else None
        i += 2
        if opt in ("region", "profile", "output", "query"):
            continue
        name, shape = members[opt]
        if value is not None and len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        t = shape.type_name
        params[name] = int(value) if t in ("integer", "long") else (value != "false") if t == "boolean" else json.loads(value) if t in ("structure", "list", "map") else value
    try:
        res = getattr(client, xform_name(names[op]))(**params)
        res.pop("ResponseMetadata", None)
        out.append({"ok": json.loads(json.dumps(res, default=str))})
    except Exception as e:
        out.append({"error": f"{type(e).__name__}: {e}"})
print(json.dumps(out))
`;

/** One result per command: the response, or the error as the CLI would report it. */
export function runAwsCommands(
  commands: readonly (readonly string[])[],
  at: { endpoint: string; region: string },
): ({ ok: Record<string, unknown> } | { error: string })[] {
  const res = spawnSync(python, ['-c', RUN], {
    input: JSON.stringify({ commands, ...at }),
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`aws runner failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}
