import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresOptions, usePostgres } from '../helpers/postgres';

/**
 * TLS as on RDS (rds.force_ssl = 1): a PostgreSQL that accepts only TLS connections, with a server
 * certificate for "localhost" signed by a private CA made here with openssl (which is why this is an
 * integration test: `npm test` needs nothing but Node). The migration function's connection code
 * runs in a child process so NODE_EXTRA_CA_CERTS works as on Lambda (/var/runtime/ca-cert.pem).
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-tls-'));
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

openssl(
  'req',
  '-x509',
  '-newkey',
  'rsa:2048',
  '-nodes',
  '-days',
  '2',
  '-subj',
  '/CN=Clever Better test CA',
  '-keyout',
  file('ca.key'),
  '-out',
  file('ca.pem'),
);
openssl(
  'req',
  '-newkey',
  'rsa:2048',
  '-nodes',
  '-subj',
  '/CN=localhost',
  '-keyout',
  file('server.key'),
  '-out',
  file('server.csr'),
);
fs.writeFileSync(file('ext.cnf'), 'subjectAltName = DNS:localhost\n');
openssl(
  'x509',
  '-req',
  '-in',
  file('server.csr'),
  '-CA',
  file('ca.pem'),
  '-CAkey',
  file('ca.key'),
  '-CAcreateserial',
  '-days',
  '2',
  '-extfile',
  file('ext.cnf'),
  '-out',
  file('server.crt'),
);

const options: PostgresOptions = {
  postgresFlags: [
    '-c',
    'listen_addresses=localhost',
    '-c',
    'ssl=on',
    '-c',
    'ssl_cert_file=server.crt',
    '-c',
    'ssl_key_file=server.key',
  ],
  // Only TLS connections from TCP clients: what rds.force_ssl = 1 enforces.
  hbaConf: [
    'local all all scram-sha-256',
    'hostssl all all 127.0.0.1/32 scram-sha-256',
    'hostssl all all ::1/128 scram-sha-256',
    '',
  ].join('\n'),
  dataFiles: [
    { name: 'server.crt', content: fs.readFileSync(file('server.crt'), 'utf8'), mode: 0o644 },
    { name: 'server.key', content: fs.readFileSync(file('server.key'), 'utf8'), mode: 0o600 },
  ],
};
const postgres = usePostgres(options);
jest.setTimeout(30_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the function's connection code in a fresh Node, optionally trusting the test CA. */
function probe(
  host: string,
  trustCa: boolean,
): { ok: boolean; ssl?: boolean; version?: string; message?: string } {
  const pg = postgres();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PROBE_HOST: host,
    PROBE_PORT: String(pg.port),
    PROBE_USER: pg.user,
    PROBE_PASSWORD: pg.password,
    TS_NODE_TRANSPILE_ONLY: 'true',
  };
  delete env.NODE_EXTRA_CA_CERTS;
  if (trustCa) env.NODE_EXTRA_CA_CERTS = file('ca.pem');
  const result = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register', path.join(__dirname, 'tls-probe.ts')],
    {
      env,
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`probe failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

test('connects over TLS when the CA is trusted through NODE_EXTRA_CA_CERTS and the host name matches', () => {
  expect(probe('localhost', true)).toEqual({
    ok: true,
    ssl: true,
    version: expect.stringMatching(/^TLSv1\.[23]$/),
  });
});

test('refuses a server whose certificate chains to a CA the function does not trust', () => {
  const result = probe('localhost', false);
  expect(result.ok).toBe(false);
  expect(result.message).toMatch(
    /^cannot connect to PostgreSQL at localhost:\d+\/postgres .*: (self-signed certificate in certificate chain|unable to verify the first certificate|unable to get local issuer certificate)/,
  );
});

test('refuses a server whose certificate names another host', () => {
  const result = probe('127.0.0.1', true);
  expect(result.ok).toBe(false);
  expect(result.message).toMatch(
    /Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list/,
  );
});

test('the server refuses a client without TLS, as RDS does with rds.force_ssl = 1', async () => {
  const client = new Client({ ...postgres().config('postgres'), host: 'localhost', ssl: false });
  await expect(client.connect()).rejects.toThrow(/no pg_hba\.conf entry for host .*no encryption/);
});
