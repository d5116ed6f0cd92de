import {
  ANGX_CODES,
  BETFAIR_ENDPOINTS,
  BetfairClient,
  BetfairCredentials,
  BetfairError,
  endpointsFromEnv,
  parseBetfairSecret,
  SESSION_ERRORS,
} from '../../lambda/emergency-stop/betfair';
import { classify } from '../../lambda/emergency-stop/retry';
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

describe('every Betfair answer is checked against the shape its operation returns', () => {
  let fake: FakeBetfair;
  let c: BetfairClient;
  beforeEach(async () => {
    fake = new FakeBetfair();
    await fake.start();
    c = new BetfairClient({ endpoints: fake.endpoints, credentials, requestTimeoutMs: 2000 });
  });
  afterEach(() => fake.stop());

  const answer = (body: unknown, status = 200) => ({ status, body: JSON.stringify(body) });

  /** Answers shaped as Betfair documents them (and as independent clients record them). */
  const documented = {
    listCurrentOrders: {
      currentOrders: [
        {
          betId: '228302937743',
          marketId: '1.174011386',
          selectionId: 19795432,
          handicap: 0,
          priceSize: { price: 12, size: 2 },
          bspLiability: 0,
          side: 'BACK',
          status: 'EXECUTABLE',
          persistenceType: 'LAPSE',
          orderType: 'LIMIT',
          placedDate: '2020-09-30T08:36:37.000Z',
          averagePriceMatched: 0,
          sizeMatched: 0,
          sizeRemaining: 2,
          sizeLapsed: 0,
          sizeCancelled: 0,
          sizeVoided: 0,
          regulatorCode: 'MALTA LOTTERIES AND GAMBLING AUTHORITY',
        },
      ],
      moreAvailable: false,
    },
    cancelOrders: {
      status: 'SUCCESS',
      marketId: '1.174011386',
      instructionReports: [
        {
          status: 'SUCCESS',
          instruction: { betId: '228302937743', sizeReduction: 2 },
          sizeCancelled: 2,
          cancelledDate: '2020-09-30T08:37:01.000Z',
        },
      ],
    },
  };

  test.each(Object.entries(documented))('a documented %s answer is read', async (operation, body) => {
    await c.login();
    fake.fail(operation, answer(body));
    const got = operation === 'cancelOrders' ? await c.cancelAllOrders() : await c.listCurrentOrders(0, 1000);
    expect(got).toMatchObject(
      operation === 'cancelOrders' ? { status: 'SUCCESS' } : { moreAvailable: false },
    );
  });

  /** 200 answers that are JSON but not the operation's result. Each must fail the call, transiently. */
  const wrong: [string, unknown, RegExp][] = [
    [
      'a JSON-RPC envelope around the result',
      { jsonrpc: '2.0', result: documented.listCurrentOrders, id: 1 },
      /a JSON-RPC envelope, not the REST answer: currentOrders is missing, expected array/,
    ],
    [
      'a generic {"error": …} body',
      { error: 'upstream unavailable' },
      /an object with keys \[error\]: currentOrders is missing, expected array/,
    ],
    ['an empty object', {}, /currentOrders is missing, expected array; moreAvailable is missing/],
    ['a bare array', [], /a JSON array/],
    [
      'an order with an unknown status',
      { currentOrders: [{ betId: '1', marketId: '1.2', status: 'SUSPENDED' }], moreAvailable: false },
      /currentOrders\.0\.status is "SUSPENDED", expected one of "PENDING", "EXECUTION_COMPLETE", "EXECUTABLE", "EXPIRED"/,
    ],
    [
      'moreAvailable as a string',
      { currentOrders: [], moreAvailable: 'false' },
      /moreAvailable is "false", expected boolean/,
    ],
  ];

  test.each(wrong)(
    'listCurrentOrders answering %s is UNEXPECTED_ANSWER, transient, naming what came back',
    async (_, body, says) => {
      await c.login();
      fake.fail('listCurrentOrders', answer(body));
      const err = await c.listCurrentOrders(0, 1000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BetfairError);
      expect(err).toMatchObject({ code: 'UNEXPECTED_ANSWER' });
      expect((err as Error).message).toMatch(says);
      expect((err as Error).message).toMatch(/answer began "/);
      expect(classify(err)).toBe('transient');
    },
  );

  test.each([
    ['a JSON-RPC envelope', { jsonrpc: '2.0', result: documented.cancelOrders, id: 1 }],
    ['a generic {"error": …} body', { error: 'upstream unavailable' }],
    ['a report with an unknown status', { status: 'DONE' }],
  ])('cancelOrders answering %s is UNEXPECTED_ANSWER, never a report', async (_, body) => {
    await c.login();
    fake.fail('cancelOrders', answer(body));
    await expect(c.cancelAllOrders()).rejects.toMatchObject({ code: 'UNEXPECTED_ANSWER' });
  });

  test.each([
    ['login', { token: 'x' }],
    ['login', { status: 'SUCCESS', token: '' }],
    ['login', { jsonrpc: '2.0', result: { token: 'abc', status: 'SUCCESS' } }],
  ])('%s answering %j is UNEXPECTED_ANSWER, never a session', async (operation, body) => {
    fake.fail(operation, answer(body));
    await expect(c.login()).rejects.toMatchObject({ code: 'UNEXPECTED_ANSWER' });
  });

  test.each([
    [
      "Betfair's own DSC-0019 Timeout on a 504",
      504,
      { faultcode: 'Server', faultstring: 'DSC-0019', detail: {} },
    ],
    [
      'an APINGException code this client does not know, on a 500',
      500,
      {
        faultcode: 'Server',
        faultstring: 'ANGX-0099',
        detail: { APINGException: { errorCode: 'NEW_CODE' } },
      },
    ],
  ])(
    'a fault with %s is transient (a 5xx is the server at fault, whatever its code)',
    async (_, status, body) => {
      await c.login();
      fake.fail('cancelOrders', answer(body, status));
      const err = await c.cancelAllOrders().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BetfairError);
      expect(classify(err)).toBe('transient');
    },
  );

  test('a documented answer with a null "detail" beside it is read, not taken for a fault', async () => {
    await c.login();
    fake.fail('cancelOrders', answer({ ...documented.cancelOrders, detail: null }));
    await expect(c.cancelAllOrders()).resolves.toMatchObject({ status: 'SUCCESS' });
  });

  test('a logout answer of another shape is UNEXPECTED_ANSWER', async () => {
    await c.login();
    fake.fail('logout', answer({ ok: true }));
    await expect(c.logout()).rejects.toMatchObject({ code: 'UNEXPECTED_ANSWER' });
  });

  // Betfair's documentation, "Betting Enums" (APINGException) and "Common Error Codes": a REST
  // fault may carry only its fault string, without `detail`.
  const sessionCodes = Object.entries(ANGX_CODES).filter(([, code]) => SESSION_ERRORS.includes(code));
  test.each(Object.entries(ANGX_CODES).filter(([, code]) => !SESSION_ERRORS.includes(code)))(
    'a fault with only faultstring %s is %s',
    async (faultstring, code) => {
      await c.login();
      for (const spelling of [faultstring, `A${faultstring}`])
        fake.fail('listCurrentOrders', answer({ faultcode: 'Server', faultstring: spelling }, 400));
      for (let i = 0; i < 2; i++) {
        const err = await c.listCurrentOrders(0, 1000).catch((e: unknown) => e);
        expect(err).toMatchObject({ code });
      }
    },
  );

  test.each(sessionCodes)(
    'a fault with only faultstring %s (%s) is answered by a fresh login',
    async (faultstring) => {
      await c.login();
      fake.fail('listCurrentOrders', answer({ faultcode: 'Client', faultstring }, 400));
      await expect(c.listCurrentOrders(0, 1000)).resolves.toMatchObject({ moreAvailable: false });
      expect(fake.calls('login')).toHaveLength(2);
      expect(c.relogins).toBe(1);
    },
  );

  test('ANGX-0008 and ANGX-0009 without detail are retried; bad input and a bad app key are not', async () => {
    await c.login();
    const kinds: Record<string, string> = {};
    for (const faultstring of [
      'ANGX-0006',
      'ANGX-0008',
      'ANGX-0009',
      'ANGX-0010',
      'ANGX-0002',
      'ANGX-0007',
      'ANGX-0012',
    ]) {
      fake.fail('listCurrentOrders', answer({ faultcode: 'Server', faultstring }, 400));
      kinds[faultstring] = classify(await c.listCurrentOrders(0, 1000).catch((e: unknown) => e));
    }
    expect(kinds).toEqual({
      'ANGX-0006': 'transient',
      'ANGX-0008': 'transient',
      'ANGX-0009': 'transient',
      'ANGX-0010': 'transient',
      'ANGX-0002': 'permanent',
      'ANGX-0007': 'permanent',
      'ANGX-0012': 'permanent',
    });
  });

  test('a fault string the documentation does not list is kept as it came', async () => {
    await c.login();
    fake.fail('listCurrentOrders', answer({ faultcode: 'Server', faultstring: 'DSC-0018' }, 400));
    await expect(c.listCurrentOrders(0, 1000)).rejects.toMatchObject({ code: 'DSC-0018' });
  });
});
