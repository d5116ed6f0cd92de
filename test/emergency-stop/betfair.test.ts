import {
  BETFAIR_ENDPOINTS,
  BetfairClient,
  BetfairCredentials,
  BetfairError,
  endpointsFromEnv,
  parseBetfairSecret,
} from '../../lambda/emergency-stop/betfair';
import { TimeoutError } from '../../lambda/emergency-stop/time';
import { FakeBetfair } from '../../lib/local/betfair-server';
import { selfSignedCertificate } from '../../lib/local/x509';

const credentials: BetfairCredentials = { appKey: 'app-key-123', username: 'bot-user', password: 'bot-pass' };

describe('Betfair client against a local server speaking the documented protocol', () => {
  let fake: FakeBetfair;
  beforeEach(async () => {
    fake = new FakeBetfair();
    await fake.start();
  });
  afterEach(() => fake.stop());

  const client = (overrides: Partial<BetfairCredentials> = {}, requestTimeoutMs = 2000) =>
    new BetfairClient({
      endpoints: fake.endpoints,
      credentials: { ...credentials, ...overrides },
      requestTimeoutMs,
    });

  test('interactive login posts the form with X-Application and asks for JSON', async () => {
    const c = client({ password: 'p&ss=word' });
    await expect(c.login()).rejects.toThrow(/INVALID_USERNAME_OR_PASSWORD/);
    const [login] = fake.calls('login');
    expect(login.headers).toMatchObject({
      'x-application': 'app-key-123',
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    });
    // The password's & and = are encoded, not taken as form separators.
    expect(Object.fromEntries(new URLSearchParams(login.body))).toEqual({
      username: 'bot-user',
      password: 'p&ss=word',
    });
  });

  test('every betting call carries X-Application and the session token as X-Authentication', async () => {
    const c = client();
    await c.login();
    await c.cancelAllOrders();
    await c.listCurrentOrders(0, 1000);
    for (const call of [...fake.calls('cancelOrders'), ...fake.calls('listCurrentOrders')]) {
      expect(call.headers['x-application']).toBe('app-key-123');
      expect(call.headers['x-authentication']).toBe('session-1');
      expect(call.headers['content-type']).toBe('application/json');
    }
    expect(fake.violations).toEqual([]);
  });

  test('cancel-all posts the params object itself to the REST URL: no marketId, no instructions, no JSON-RPC envelope', async () => {
    fake.placeUnmatched('101', 5);
    fake.placeUnmatched('102', 7.5, '1.999');
    const c = client();
    await c.login();
    const report = await c.cancelAllOrders();
    const [call] = fake.calls('cancelOrders');
    expect(call.path).toBe('/exchange/betting/rest/v1.0/cancelOrders/');
    expect(JSON.parse(call.body)).toEqual({});
    // Like Betfair, a cancel-all reports no instruction: the size cancelled comes from the listings.
    expect(report).toEqual({ status: 'SUCCESS', instructionReports: [] });
    expect(fake.open).toEqual([]);
  });

  test('throws a cancel-all the matcher refused (ERROR_IN_MATCHER in the report) as a transient error', async () => {
    fake.cancelScript = ['matcher-busy'];
    const c = client();
    await c.login();
    const err = await c.cancelAllOrders().catch((e: unknown) => e);
    expect(err).toEqual(new BetfairError('cancelOrders', 'ERROR_IN_MATCHER'));
    expect((err as BetfairError).transient).toBe(true);
  });

  test.each([
    ['maintenance-page', 'NOT_JSON', true, /answer began "<html>/],
    ['http-503', 'HTTP_503', true, undefined],
    ['service-busy', 'SERVICE_BUSY', true, undefined],
    ['too-many-requests', 'TOO_MANY_REQUESTS', true, undefined],
  ] as const)('names a %s answer %s (transient: %s)', async (fault, code, transient, detail) => {
    const c = client();
    await c.login();
    fake.fail('listCurrentOrders', fault);
    const err = (await c.listCurrentOrders(0, 10).catch((e: unknown) => e)) as BetfairError;
    expect(err).toBeInstanceOf(BetfairError);
    expect(err).toMatchObject({ operation: 'listCurrentOrders', code, transient });
    if (detail) expect(err.message).toMatch(detail);
  });

  test('a login answered with a maintenance page is NOT_JSON, not a refusal', async () => {
    fake.fail('login', 'maintenance-page');
    await expect(client().login()).rejects.toMatchObject({ code: 'NOT_JSON', transient: true });
  });

  test('listCurrentOrders can ask for unmatched bets only (EXECUTABLE)', async () => {
    fake.placeUnmatched('201', 2);
    fake.placeMatched('202', 3);
    const c = client();
    await c.login();
    const page = await c.listCurrentOrders(0, 1000, { executableOnly: true });
    expect(JSON.parse(fake.calls('listCurrentOrders')[0].body).orderProjection).toBe('EXECUTABLE');
    expect(page.currentOrders.map((o) => o.betId)).toEqual(['201']);
  });

  test('listCurrentOrders asks for all current orders one page at a time', async () => {
    fake.placeUnmatched('201', 2);
    fake.placeMatched('202', 3);
    const c = client();
    await c.login();
    const page = await c.listCurrentOrders(0, 1000);
    expect(JSON.parse(fake.calls('listCurrentOrders')[0].body)).toEqual({
      orderProjection: 'ALL',
      fromRecord: 0,
      recordCount: 1000,
    });
    expect(page.currentOrders.map((o) => [o.betId, o.status])).toEqual([
      ['201', 'EXECUTABLE'],
      ['202', 'EXECUTION_COMPLETE'],
    ]);
    expect(page.moreAvailable).toBe(false);
  });

  test.each(['session-expired', 'session-token-expired'] as const)(
    'answers %s (both names Betfair documents) with one fresh login and a retry',
    async (behaviour) => {
      fake.placeUnmatched('301', 4);
      fake.cancelScript = [behaviour];
      const c = client();
      await c.login();
      const report = await c.cancelAllOrders();
      expect(report.status).toBe('SUCCESS');
      expect(fake.calls('login')).toHaveLength(2);
      expect(fake.calls('cancelOrders').map((r) => r.headers['x-authentication'])).toEqual([
        'session-1',
        'session-2',
      ]);
      expect(c.relogins).toBe(1);
    },
  );

  test('fails after a second session error: only one fresh login per run', async () => {
    fake.cancelScript = ['session-expired', 'session-expired'];
    const c = client();
    await c.login();
    await expect(c.cancelAllOrders()).rejects.toMatchObject({ code: 'INVALID_SESSION_INFORMATION' });
    expect(fake.calls('login')).toHaveLength(2);
  });

  test('requests refused together with the old session share one fresh login, and each is retried', async () => {
    fake.placeUnmatched('401', 4);
    const c = client();
    await c.login();
    fake.expireSessions();
    const [listing, report] = await Promise.all([
      c.listCurrentOrders(0, 1000, { executableOnly: true }),
      c.cancelAllOrders(),
    ]);
    expect(report.status).toBe('SUCCESS');
    expect(listing.currentOrders.map((o) => o.betId)).toEqual(['401']);
    expect(fake.calls('login')).toHaveLength(2);
    expect(c.relogins).toBe(1);
    for (const op of ['listCurrentOrders', 'cancelOrders'])
      expect(fake.calls(op).map((r) => r.headers['x-authentication'])).toEqual(['session-1', 'session-2']);
  });

  test('fails a login with the status Betfair answers, e.g. an unknown app key', async () => {
    await expect(client({ appKey: 'other' }).login()).rejects.toEqual(
      new BetfairError('login', 'INVALID_APP_KEY'),
    );
  });

  test('logout ends the session with both headers', async () => {
    const c = client();
    await c.login();
    await c.logout();
    const [logout] = fake.calls('logout');
    expect(logout.headers).toMatchObject({ 'x-application': 'app-key-123', 'x-authentication': 'session-1' });
    await expect(c.cancelAllOrders()).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
  });

  test('fails a request that does not answer within its deadline', async () => {
    fake.hang.add('login');
    const started = Date.now();
    await expect(client({}, 200).login()).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('certificate login (certlogin) over TLS with a client certificate', () => {
  const botCert = selfSignedCertificate('clever-better-bot');
  let fake: FakeBetfair;
  beforeAll(async () => {
    fake = new FakeBetfair({ tls: { clientCertFingerprint: botCert.fingerprint256 } });
    await fake.start();
  });
  afterAll(() => fake.stop());

  const certClient = (cert = botCert) =>
    new BetfairClient({
      endpoints: fake.endpoints,
      credentials: { ...credentials, certPem: cert.cert, keyPem: cert.key },
      requestTimeoutMs: 5000,
      ca: fake.serverCertificate!.cert,
    });

  test('uses certlogin when the secret holds cert_pem and key_pem, presenting the certificate', async () => {
    const c = certClient();
    expect(c.loginMethod).toBe('certificate');
    await c.login();
    const [login] = fake.calls('certlogin');
    expect(login.clientCertFingerprint).toBe(botCert.fingerprint256);
    expect(login.headers).toMatchObject({
      'x-application': 'app-key-123',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(Object.fromEntries(new URLSearchParams(login.body))).toEqual({
      username: 'bot-user',
      password: 'bot-pass',
    });
    await c.cancelAllOrders();
    expect(fake.calls('cancelOrders')[0].headers['x-authentication']).toMatch(/^session-/);
  });

  test('fails with CERT_AUTH_REQUIRED when the certificate is not the one linked to the account', async () => {
    await expect(certClient(selfSignedCertificate('someone-else')).login()).rejects.toMatchObject({
      operation: 'certlogin',
      code: 'CERT_AUTH_REQUIRED',
    });
  });

  test('uses interactive login when no certificate is configured', () => {
    expect(
      new BetfairClient({ endpoints: fake.endpoints, credentials, requestTimeoutMs: 1 }).loginMethod,
    ).toBe('interactive');
  });
});

describe('the Betfair secret', () => {
  const id = 'clever-better/staging/betfair';
  test('reads app_key, username, password and the optional certificate pair', () => {
    expect(
      parseBetfairSecret(
        id,
        JSON.stringify({ app_key: 'k', username: 'u', password: 'p', cert_pem: 'C', key_pem: 'K' }),
      ),
    ).toEqual({ appKey: 'k', username: 'u', password: 'p', certPem: 'C', keyPem: 'K' });
  });

  test.each([
    [
      'not JSON',
      'nope',
      /is not a JSON object.*put-secret-value --secret-id clever-better\/staging\/betfair/,
    ],
    ['missing app_key', JSON.stringify({ username: 'u', password: 'p' }), /key app_key is missing/],
    [
      'the REPLACE_ME placeholder',
      JSON.stringify({ app_key: 'REPLACE_ME', username: 'u', password: 'p' }),
      /app_key is still the placeholder REPLACE_ME/,
    ],
    [
      'a certificate without its key',
      JSON.stringify({ app_key: 'k', username: 'u', password: 'p', cert_pem: 'C' }),
      /cert_pem and key_pem go together/,
    ],
  ])('fails on %s, naming the key and the fix', (_, value, message) => {
    expect(() => parseBetfairSecret(id, value)).toThrow(message);
  });
});

test('endpoints default to Betfair and can be pointed elsewhere through the environment', () => {
  expect(endpointsFromEnv({})).toEqual(BETFAIR_ENDPOINTS);
  expect(BETFAIR_ENDPOINTS).toEqual({
    certLogin: 'https://identitysso-cert.betfair.com/api/certlogin',
    login: 'https://identitysso.betfair.com/api/login',
    logout: 'https://identitysso.betfair.com/api/logout',
    betting: 'https://api.betfair.com/exchange/betting/rest/v1.0/',
  });
  expect(endpointsFromEnv({ BETFAIR_BETTING_URL: 'http://127.0.0.1:9/rest' }).betting).toBe(
    'http://127.0.0.1:9/rest/',
  );
});
