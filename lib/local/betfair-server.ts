import * as http from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { BetfairEndpoints, CurrentOrderSummary } from '../../lambda/emergency-stop/betfair';
import { selfSignedCertificate, TestCertificate } from './x509';

/** One request as the fake received it. */
export interface RecordedRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Fingerprint of the client certificate presented, if any (TLS only). */
  readonly clientCertFingerprint?: string;
  /** `performance.now()` when the whole request had arrived, in milliseconds. */
  readonly receivedAt: number;
}

/**
 * A fault the next request to one operation meets (`faults`), before the fake looks at it: each is
 * one the stop must retry.
 */
export type Fault =
  /** No fault: this request goes through (to aim a fault at a later request). */
  | 'none'
  /** HTTP 503 with an empty body. */
  | 'http-503'
  /** HTTP 200 with an HTML maintenance page. */
  | 'maintenance-page'
  /** The connection is dropped without an answer (ECONNRESET at the client). */
  | 'reset'
  /** No answer at all: the client's request deadline must end it. */
  | 'hang'
  /** APINGException SERVICE_BUSY (HTTP 400 on the betting API, a login status on the identity API). */
  | 'service-busy'
  /** APINGException TOO_MANY_REQUESTS, likewise. */
  | 'too-many-requests'
  /** The request is carried out, but its answer never comes (a proxy lost it): applied, unseen. */
  | 'lost-answer'
  /** This answer, verbatim, instead of the real one: a recorded or malformed body. */
  | { readonly status: number; readonly body: string };

/** How the next cancelOrders call answers. */
export type CancelBehaviour =
  /** Cancels every unmatched bet and, like Betfair's cancel-all, reports no instruction (the default). */
  | 'cancel'
  /** Cancels every unmatched bet and reports each (as a cancel with instructions does). */
  | 'cancel-with-reports'
  /** A concurrent cancel-all is running: FAILURE / ERROR_IN_MATCHER, nothing cancelled. */
  | 'matcher-busy'
  /** The first unmatched bet was matched meanwhile (BET_TAKEN_OR_LAPSED); the rest are cancelled. */
  | 'processed-with-errors'
  /** Reports SUCCESS but cancels nothing (a bet Betfair did not cancel, or one placed right after). */
  | 'leave-open'
  /** The session expired: APINGException INVALID_SESSION_INFORMATION (or the _TOKEN spelling). */
  | 'session-expired'
  | 'session-token-expired';

export interface FakeBetfairOptions {
  readonly appKey?: string;
  readonly username?: string;
  readonly password?: string;
  /** Serve HTTPS and require this client certificate on certlogin, as Betfair does for bot logins. */
  readonly tls?: { readonly clientCertFingerprint: string };
  /** Milliseconds before answering a login. @default 0 */
  readonly loginDelayMs?: number;
  /** Milliseconds before answering any other call. @default 0 */
  readonly callDelayMs?: number;
  /**
   * Milliseconds the matcher takes to act on a cancelOrders, after its `callDelayMs`: a listing that
   * arrives meanwhile still sees the bets open, as at Betfair, where a cancel is not instant. It also
   * keeps the order of a listing and a cancel-all sent together the same on a loaded machine.
   * @default 20
   */
  readonly cancelLatencyMs?: number;
}

const BETTING = '/exchange/betting/rest/v1.0/';

/**
 * A local stand-in for Betfair's identity and betting endpoints on 127.0.0.1 (random port), answering
 * as the documented API does and checking what a real server would refuse: the X-Application and
 * X-Authentication headers, the login form, and a REST body that is the params object itself.
 */
export class FakeBetfair {
  readonly requests: RecordedRequest[] = [];
  /** Protocol mistakes the client made (an envelope on REST, a marketId on a cancel-all, …). */
  readonly violations: string[] = [];
  /** Unmatched bets on the account. */
  open: CurrentOrderSummary[] = [];
  /** Matched bets on the account (cannot be cancelled). */
  matched: CurrentOrderSummary[] = [];
  /** Answers of the next cancelOrders calls, in order; then {@link cancelDefault}. */
  cancelScript: CancelBehaviour[] = [];
  /** What every cancelOrders does once `cancelScript` is used up. @default 'cancel' */
  cancelDefault: CancelBehaviour = 'cancel';
  /** The status every login answers with, e.g. INVALID_USERNAME_OR_PASSWORD. @default SUCCESS */
  loginStatus = 'SUCCESS';
  /** Paths (`certlogin`, `login`, `cancelOrders`, …) that never answer. */
  readonly hang = new Set<string>();
  /** Per operation (`login`, `cancelOrders`, `listCurrentOrders`, …), the faults its next requests meet, in order. */
  readonly faults = new Map<string, Fault[]>();
  /** Milliseconds before answering a login; may be changed between runs. @default options.loginDelayMs */
  loginDelayMs: number;
  /** Milliseconds before answering any other call; may be changed between runs. @default options.callDelayMs */
  callDelayMs: number;
  /** Unmatched orders listCurrentOrders answers per page at most. @default 1000 */
  pageSize = 1000;
  /** The server's certificate (TLS mode); clients trust it through `ca`. */
  readonly serverCertificate?: TestCertificate;

  private readonly sessions = new Set<string>();
  private readonly server: http.Server;
  private tokenCount = 0;
  private url = '';
  private port = 0;

  constructor(private readonly options: FakeBetfairOptions = {}) {
    this.loginDelayMs = options.loginDelayMs ?? 0;
    this.callDelayMs = options.callDelayMs ?? 0;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    if (options.tls) {
      this.serverCertificate = selfSignedCertificate('localhost', {
        ipAddresses: ['127.0.0.1'],
        dnsNames: ['localhost'],
      });
      this.server = https.createServer(
        {
          key: this.serverCertificate.key,
          cert: this.serverCertificate.cert,
          // Betfair checks the certificate against the one linked to the account, not against a CA.
          requestCert: true,
          rejectUnauthorized: false,
        },
        handler,
      );
    } else {
      this.server = http.createServer(handler);
    }
  }

  get appKey(): string {
    return this.options.appKey ?? 'app-key-123';
  }

  async start(port = 0): Promise<BetfairEndpoints> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    return this.endpoints;
  }

  /** Listens again on the same port after {@link stop}: between the two, connections are refused. */
  async restart(): Promise<void> {
    await this.start(this.port);
  }

  /** Queues `fault` for the next `times` requests to `operation`. */
  fail(operation: string, fault: Fault, times = 1): void {
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), ...Array<Fault>(times).fill(fault)]);
  }

  get endpoints(): BetfairEndpoints {
    return {
      certLogin: `${this.url}/api/certlogin`,
      login: `${this.url}/api/login`,
      logout: `${this.url}/api/logout`,
      betting: `${this.url}${BETTING}`,
    };
  }

  /** The same endpoints as environment variables, as the function reads them. */
  get environment(): Record<string, string> {
    const e = this.endpoints;
    return {
      BETFAIR_CERT_LOGIN_URL: e.certLogin,
      BETFAIR_LOGIN_URL: e.login,
      BETFAIR_LOGOUT_URL: e.logout,
      BETFAIR_BETTING_URL: e.betting,
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Makes every current session invalid, as an expiry would. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** Adds an unmatched bet. */
  placeUnmatched(betId: string, size: number, marketId = '1.234'): void {
    this.open.push({
      betId,
      marketId,
      status: 'EXECUTABLE',
      side: 'BACK',
      orderType: 'LIMIT',
      priceSize: { price: 3.5, size },
      sizeMatched: 0,
      sizeRemaining: size,
    });
  }

  /** Adds a fully matched (uncancellable) bet. */
  placeMatched(betId: string, size: number, marketId = '1.234'): void {
    this.matched.push({
      betId,
      marketId,
      status: 'EXECUTION_COMPLETE',
      side: 'LAY',
      orderType: 'LIMIT',
      priceSize: { price: 2.1, size },
      sizeMatched: size,
      sizeRemaining: 0,
    });
  }

  /** Requests to one operation (`certlogin`, `login`, `logout`, `cancelOrders`, `listCurrentOrders`). */
  calls(operation: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.replace(/\/$/, '').endsWith(`/${operation}`));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const socket = req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const path = (req.url ?? '').split('?')[0];
    this.requests.push({
      path,
      headers: req.headers,
      body,
      clientCertFingerprint: peer?.fingerprint256 || undefined,
      receivedAt: performance.now(),
    });
    const operation = path.replace(/\/$/, '').split('/').pop() ?? '';
    if (req.method !== 'POST') this.violations.push(`${req.method} ${path}: Betfair asks for POST`);
    if (this.hang.has(operation)) return; // never answers; stop() closes the socket
    const fault = this.faults.get(operation)?.shift();
    if (fault && fault !== 'lost-answer' && this.inject(fault, operation, path, res)) return;
    const isLogin = operation === 'certlogin' || operation === 'login';
    const delay = isLogin ? this.loginDelayMs : this.callDelayMs;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (operation === 'cancelOrders')
      await new Promise((r) => setTimeout(r, this.options.cancelLatencyMs ?? 20));
    // Carried out, but the answer goes nowhere; stop() closes the socket.
    if (fault === 'lost-answer') res = LOST_ANSWER;
    if (path.startsWith('/api/')) return this.identity(operation, req, body, peer?.fingerprint256, res);
    if (path.startsWith(BETTING)) return this.betting(operation, req, body, res);
    send(res, 404, { error: 'no such endpoint' });
  }

  /** Answers with `fault`; false when the fault lets the request through (`none`). */
  private inject(fault: Fault, operation: string, path: string, res: http.ServerResponse): boolean {
    const identity = path.startsWith('/api/');
    if (typeof fault === 'object') {
      res.writeHead(fault.status, { 'Content-Type': 'application/json' }).end(fault.body);
      return true;
    }
    switch (fault) {
      case 'none':
        return false;
      case 'http-503':
        res.writeHead(503).end();
        return true;
      case 'maintenance-page':
        res
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end('<html><body><h1>Betfair is undergoing maintenance</h1></body></html>');
        return true;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'hang':
        return true;
      case 'lost-answer':
        return false;
      case 'service-busy':
      case 'too-many-requests': {
        const code = fault === 'service-busy' ? 'SERVICE_BUSY' : 'TOO_MANY_REQUESTS';
        if (!identity) apiException(res, code);
        else if (operation === 'certlogin') send(res, 200, { loginStatus: code });
        else send(res, 200, { token: '', status: 'FAIL', error: code });
        return true;
      }
    }
  }

  private identity(
    operation: string,
    req: http.IncomingMessage,
    body: string,
    fingerprint: string | undefined,
    res: http.ServerResponse,
  ): void {
    const appKey = req.headers['x-application'];
    if (operation === 'logout') {
      const token = String(req.headers['x-authentication'] ?? '');
      if (!this.sessions.delete(token))
        return send(res, 200, { token, product: appKey, status: 'FAIL', error: 'NO_SESSION' });
      return send(res, 200, { token, product: appKey, status: 'SUCCESS', error: '' });
    }
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
      this.violations.push(
        `${operation}: Content-Type ${req.headers['content-type']}, expected application/x-www-form-urlencoded`,
      );
    const form = new URLSearchParams(body);
    let status = this.loginStatus;
    if (appKey !== this.appKey) status = 'INVALID_APP_KEY';
    else if (
      form.get('username') !== (this.options.username ?? 'bot-user') ||
      form.get('password') !== (this.options.password ?? 'bot-pass')
    )
      status = 'INVALID_USERNAME_OR_PASSWORD';
    if (operation === 'certlogin') {
      if (!this.options.tls || fingerprint !== this.options.tls.clientCertFingerprint)
        status = 'CERT_AUTH_REQUIRED';
      if (status !== 'SUCCESS') return send(res, 200, { loginStatus: status });
      return send(res, 200, { sessionToken: this.newSession(), loginStatus: 'SUCCESS' });
    }
    if (req.headers.accept !== 'application/json') {
      // Without Accept: application/json the interactive endpoint answers with a browser redirect.
      this.violations.push('login: Accept is not application/json');
      res.writeHead(302, { Location: 'https://www.betfair.com/' }).end();
      return;
    }
    if (status !== 'SUCCESS')
      return send(res, 200, { token: '', product: appKey, status: 'FAIL', error: status });
    send(res, 200, { token: this.newSession(), product: appKey, status: 'SUCCESS', error: '' });
  }

  private betting(
    operation: string,
    req: http.IncomingMessage,
    body: string,
    res: http.ServerResponse,
  ): void {
    if (!req.headers['x-application']) return apiException(res, 'NO_APP_KEY');
    if (req.headers['x-application'] !== this.appKey) return apiException(res, 'INVALID_APP_KEY');
    if (!req.headers['x-authentication']) return apiException(res, 'NO_SESSION');
    if (!this.sessions.has(String(req.headers['x-authentication'])))
      return apiException(res, 'INVALID_SESSION_INFORMATION');
    if (!String(req.headers['content-type']).startsWith('application/json'))
      this.violations.push(
        `${operation}: Content-Type ${req.headers['content-type']}, expected application/json`,
      );
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(body);
    } catch {
      return apiException(res, 'INVALID_INPUT_DATA', 'body is not JSON');
    }
    if ('jsonrpc' in params || 'method' in params || 'params' in params) {
      this.violations.push(`${operation}: JSON-RPC envelope sent to the REST endpoint`);
      return apiException(res, 'INVALID_INPUT_DATA', 'unexpected envelope');
    }
    if (operation === 'cancelOrders') return this.cancel(params, res);
    if (operation === 'listCurrentOrders') return this.list(params, res);
    apiException(res, 'INVALID_INPUT_DATA', `unknown operation ${operation}`);
  }

  private cancel(params: Record<string, unknown>, res: http.ServerResponse): void {
    if ('marketId' in params || 'instructions' in params) {
      this.violations.push(
        `cancelOrders: a cancel-all must have no marketId and no instructions, got ${JSON.stringify(params)}`,
      );
      return apiException(res, 'INVALID_INPUT_DATA');
    }
    const behaviour = this.cancelScript.shift() ?? this.cancelDefault;
    switch (behaviour) {
      case 'matcher-busy':
        return send(res, 200, { status: 'FAILURE', errorCode: 'ERROR_IN_MATCHER', instructionReports: [] });
      case 'session-expired':
        this.expireSessions();
        return apiException(res, 'INVALID_SESSION_INFORMATION');
      case 'session-token-expired':
        this.expireSessions();
        return apiException(res, 'INVALID_SESSION_TOKEN');
      case 'leave-open':
        return send(res, 200, { status: 'SUCCESS', instructionReports: [] });
      case 'processed-with-errors': {
        const [taken, ...rest] = this.open;
        this.open = [];
        const reports = rest.map((o) => cancelled(o));
        if (taken) {
          this.matched.push({
            ...taken,
            status: 'EXECUTION_COMPLETE',
            sizeMatched: taken.sizeRemaining,
            sizeRemaining: 0,
          });
          reports.unshift({
            status: 'FAILURE',
            errorCode: 'BET_TAKEN_OR_LAPSED',
            instruction: { betId: taken.betId },
          } as never);
        }
        return send(res, 200, {
          status: 'PROCESSED_WITH_ERRORS',
          errorCode: 'PROCESSED_WITH_ERRORS',
          instructionReports: reports,
        });
      }
      case 'cancel':
        this.open = [];
        return send(res, 200, { status: 'SUCCESS', instructionReports: [] });
      case 'cancel-with-reports': {
        const reports = this.open.map((o) => cancelled(o));
        this.open = [];
        return send(res, 200, { status: 'SUCCESS', instructionReports: reports });
      }
    }
  }

  private list(params: Record<string, unknown>, res: http.ServerResponse): void {
    const all = [...this.open, ...(params.orderProjection === 'EXECUTABLE' ? [] : this.matched)];
    const from = Number(params.fromRecord ?? 0);
    const count = Math.min(Number(params.recordCount ?? 1000) || 1000, this.pageSize);
    send(res, 200, {
      currentOrders: all.slice(from, from + count),
      moreAvailable: from + count < all.length,
    });
  }

  private newSession(): string {
    const token = `session-${++this.tokenCount}`;
    this.sessions.add(token);
    return token;
  }
}

/** Where an answer the fault 'lost-answer' swallows goes. */
const LOST_ANSWER = {
  writeHead() {
    return this;
  },
  end() {
    return this;
  },
} as unknown as http.ServerResponse;

function cancelled(o: CurrentOrderSummary) {
  return {
    status: 'SUCCESS',
    instruction: { betId: o.betId },
    sizeCancelled: o.sizeRemaining,
    cancelledDate: new Date().toISOString(),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** Betfair's REST error: HTTP 400 with the APINGException under `detail`. */
function apiException(res: http.ServerResponse, errorCode: string, errorDetails = ''): void {
  send(res, 400, {
    faultcode: 'Client',
    faultstring: errorCode === 'INVALID_SESSION_INFORMATION' ? 'ANGX-0003' : errorCode,
    detail: {
      APINGException: { requestUUID: 'fake-uuid', errorCode, errorDetails },
      exceptionname: 'APINGException',
    },
  });
}
