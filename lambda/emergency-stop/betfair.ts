import * as z from 'zod/mini';
import { post, PostRequest } from './http';

/**
 * Betfair endpoints. The defaults are Betfair's global (.com) ones; the environment variables of the
 * same names override them, which is how tests point the function at a server on 127.0.0.1.
 */
export interface BetfairEndpoints {
  /** Non-interactive (bot) login with a client certificate. Env `BETFAIR_CERT_LOGIN_URL`. */
  readonly certLogin: string;
  /** Interactive API login, used when the secret has no certificate. Env `BETFAIR_LOGIN_URL`. */
  readonly login: string;
  /** Ends the session. Env `BETFAIR_LOGOUT_URL`. */
  readonly logout: string;
  /** Betting API, REST flavour, ending in `/`; operation names are appended. Env `BETFAIR_BETTING_URL`. */
  readonly betting: string;
}

export const BETFAIR_ENDPOINTS: BetfairEndpoints = {
  certLogin: 'https://identitysso-cert.betfair.com/api/certlogin',
  login: 'https://identitysso.betfair.com/api/login',
  logout: 'https://identitysso.betfair.com/api/logout',
  betting: 'https://api.betfair.com/exchange/betting/rest/v1.0/',
};

export function endpointsFromEnv(env: NodeJS.ProcessEnv): BetfairEndpoints {
  return {
    certLogin: env.BETFAIR_CERT_LOGIN_URL || BETFAIR_ENDPOINTS.certLogin,
    login: env.BETFAIR_LOGIN_URL || BETFAIR_ENDPOINTS.login,
    logout: env.BETFAIR_LOGOUT_URL || BETFAIR_ENDPOINTS.logout,
    betting: (env.BETFAIR_BETTING_URL || BETFAIR_ENDPOINTS.betting).replace(/\/?$/, '/'),
  };
}

/** The contents of `clever-better/<env>/betfair`. */
export interface BetfairCredentials {
  readonly appKey: string;
  readonly username: string;
  readonly password: string;
  /** Client certificate (PEM) linked to the account; with `keyPem` selects certificate login. */
  readonly certPem?: string;
  readonly keyPem?: string;
}

/** Parses the Betfair secret, naming the secret, the key, what is wrong and the fix. */
export function parseBetfairSecret(secretId: string, secretString: string | undefined): BetfairCredentials {
  const fix = `set it with: aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string '{"app_key":"…","username":"…","password":"…"}'`;
  let value: unknown;
  try {
    value = JSON.parse(secretString ?? '');
  } catch {
    throw new Error(`${secretId} is not a JSON object: ${fix}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${secretId} is not a JSON object: ${fix}`);
  const obj = value as Record<string, unknown>;
  const text = (key: string, required: boolean): string | undefined => {
    const v = obj[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.trim() === '')
      throw new Error(
        `${secretId}: key ${key} is ${v === undefined ? 'missing' : `not a non-empty string (${JSON.stringify(typeof v)})`}: ${fix}`,
      );
    if (v === 'REPLACE_ME')
      throw new Error(`${secretId}: key ${key} is still the placeholder REPLACE_ME: ${fix}`);
    return v;
  };
  const certPem = text('cert_pem', false);
  const keyPem = text('key_pem', false);
  if ((certPem === undefined) !== (keyPem === undefined))
    throw new Error(
      `${secretId}: cert_pem and key_pem go together (certificate login needs both; without either the function uses interactive login): add the missing one or remove both`,
    );
  return {
    appKey: text('app_key', true)!,
    username: text('username', true)!,
    password: text('password', true)!,
    certPem,
    keyPem,
  };
}

/**
 * Betfair answers that may go away on their own: its documented "busy" and rate-limit codes, a
 * matcher still running another cancel-all, its internal faults, and, from {@link BetfairClient},
 * `NOT_JSON` (a 200 answer that is a maintenance page), `UNEXPECTED_ANSWER` (JSON of another shape
 * than the operation returns: a proxy's or gateway's answer, never a result) and `HTTP_5xx` /
 * `HTTP_429`. `TEMPORARY_BAN_TOO_MANY_REQUESTS` is not among them: it is a login ban that lasts minutes.
 */
const TRANSIENT_CODES = new Set([
  'SERVICE_BUSY',
  'TOO_MANY_REQUESTS',
  'ERROR_IN_MATCHER',
  'TIMEOUT_ERROR',
  'UNEXPECTED_ERROR',
  'SERVICE_UNAVAILABLE',
  'NOT_JSON',
  'UNEXPECTED_ANSWER',
  'HTTP_429',
  // ExecutionReportStatus TIMEOUT: the cancel may not have finished; a cancel-all is safe to repeat.
  'TIMEOUT',
]);

/** A Betfair error code (APINGException, login status or HTTP status) with the operation that got it. */
export class BetfairError extends Error {
  constructor(
    readonly operation: string,
    readonly code: string,
    detail?: string,
    /** The HTTP status the answer came with, when there was one. */
    readonly httpStatus?: number,
  ) {
    super(`Betfair ${operation}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'BetfairError';
  }

  /**
   * Whether the same request may succeed later (see {@link TRANSIENT_CODES}). A 5xx status is the
   * server saying it is at fault, whatever code it carries (Betfair's own `DSC-0019` "Timeout" comes
   * on a 504; a code this client does not know yet may come on a 500): retried until the deadline.
   */
  get transient(): boolean {
    return (
      TRANSIENT_CODES.has(this.code) ||
      /^HTTP_5\d\d$/.test(this.code) ||
      (this.httpStatus !== undefined && this.httpStatus >= 500)
    );
  }
}

/** Both names Betfair's documentation uses for an expired or unknown session. */
export const SESSION_ERRORS: readonly string[] = ['INVALID_SESSION_INFORMATION', 'INVALID_SESSION_TOKEN'];

/**
 * The fault string of Betfair's REST faults (`faultstring`, e.g. `ANGX-0009`) names the
 * APINGException code; an answer without `detail` carries only that. Every code of Betfair's
 * documentation ("Betting Enums", APINGException, and "Common Error Codes"). The Accounts API
 * spells them `AANGX-00nn`; both are read.
 */
export const ANGX_CODES: Readonly<Record<string, string>> = {
  'ANGX-0001': 'TOO_MUCH_DATA',
  'ANGX-0002': 'INVALID_INPUT_DATA',
  'ANGX-0003': 'INVALID_SESSION_INFORMATION',
  'ANGX-0004': 'NO_APP_KEY',
  'ANGX-0005': 'NO_SESSION',
  'ANGX-0006': 'UNEXPECTED_ERROR',
  'ANGX-0007': 'INVALID_APP_KEY',
  'ANGX-0008': 'TOO_MANY_REQUESTS',
  'ANGX-0009': 'SERVICE_BUSY',
  'ANGX-0010': 'TIMEOUT_ERROR',
  'ANGX-0011': 'REQUEST_SIZE_EXCEEDS_LIMIT',
  'ANGX-0012': 'ACCESS_DENIED',
};

/** The APINGException code a fault string names, or the fault string itself. */
export function faultCode(faultstring: string): string {
  return ANGX_CODES[faultstring.replace(/^AANGX-/, 'ANGX-')] ?? faultstring;
}

/**
 * What each operation returns, from Betfair's documentation: an answer of any other shape is
 * `UNEXPECTED_ANSWER` (transient), never read as a result. Unknown extra fields are allowed (Betfair
 * adds fields); missing or mistyped documented ones are not, nor unknown enum values (a bet status
 * this client does not know could be an open bet).
 */
const ORDER_STATUS = z.enum(['PENDING', 'EXECUTION_COMPLETE', 'EXECUTABLE', 'EXPIRED']);
export const ANSWER_SCHEMAS = {
  /** certlogin: `{sessionToken, loginStatus}`; interactive login: `{token, product, status, error}`. */
  login: z.union([
    z.object({ loginStatus: z.string(), sessionToken: z.optional(z.string()) }),
    z.object({ status: z.string(), token: z.optional(z.string()), error: z.optional(z.string()) }),
  ]),
  /** `{token, product, status, error}`. */
  logout: z.object({ status: z.string(), error: z.optional(z.string()) }),
  /** CancelExecutionReport. */
  cancelOrders: z.object({
    customerRef: z.optional(z.string()),
    status: z.enum(['SUCCESS', 'FAILURE', 'PROCESSED_WITH_ERRORS', 'TIMEOUT']),
    errorCode: z.optional(z.string()),
    marketId: z.optional(z.string()),
    instructionReports: z.optional(
      z.array(
        z.object({
          status: z.enum(['SUCCESS', 'FAILURE', 'TIMEOUT']),
          errorCode: z.optional(z.string()),
          instruction: z.optional(
            z.object({ betId: z.optional(z.string()), sizeReduction: z.optional(z.nullable(z.number())) }),
          ),
          sizeCancelled: z.optional(z.number()),
          cancelledDate: z.optional(z.string()),
        }),
      ),
    ),
  }),
  /** CurrentOrderSummaryReport. */
  listCurrentOrders: z.object({
    currentOrders: z.array(
      z.object({
        betId: z.string(),
        marketId: z.string(),
        status: ORDER_STATUS,
        side: z.optional(z.string()),
        orderType: z.optional(z.string()),
        priceSize: z.optional(z.object({ price: z.number(), size: z.number() })),
        sizeMatched: z.optional(z.number()),
        sizeRemaining: z.optional(z.number()),
      }),
    ),
    moreAvailable: z.boolean(),
  }),
} as const;

/** Betfair's CancelExecutionReport, as checked. */
export type CancelExecutionReport = z.infer<typeof ANSWER_SCHEMAS.cancelOrders>;
/** Betfair's CurrentOrderSummaryReport, as checked (the fields the stop reports on). */
export type CurrentOrderSummaryReport = z.infer<typeof ANSWER_SCHEMAS.listCurrentOrders>;
export type CurrentOrderSummary = CurrentOrderSummaryReport['currentOrders'][number];

export interface BetfairClientOptions {
  readonly endpoints: BetfairEndpoints;
  readonly credentials: BetfairCredentials;
  /**
   * Longest any HTTP request may take, in milliseconds: a backstop. Each attempt's own deadline
   * comes from its signal (the retry's timeout ladder, retry.ts), which is usually shorter.
   */
  readonly requestTimeoutMs: number;
  /** Aborts every request of this client (the step's deadline). */
  readonly signal?: AbortSignal;
  /** Extra trusted CA (PEM), for tests against a local TLS server. @default Node's CAs */
  readonly ca?: string;
}

/**
 * The few Betfair calls an emergency stop needs, over the REST betting endpoint (the body is the
 * params object itself, never a JSON-RPC envelope). A session error is answered by one fresh login.
 */
export class BetfairClient {
  private sessionToken: string | undefined;
  private reloggedIn = false;
  /** The fresh login after a session error, shared by every request that failed with the old session. */
  private relogin: Promise<void> | undefined;

  constructor(private readonly options: BetfairClientOptions) {}

  /** `certificate` when the secret holds a client certificate, `interactive` otherwise. */
  get loginMethod(): 'certificate' | 'interactive' {
    return this.options.credentials.certPem ? 'certificate' : 'interactive';
  }

  /** Whether a session error made the client log in a second time. */
  get relogins(): number {
    return this.reloggedIn ? 1 : 0;
  }

  async login(signal?: AbortSignal): Promise<void> {
    const { credentials, endpoints } = this.options;
    const cert = this.loginMethod === 'certificate';
    const operation = cert ? 'certlogin' : 'login';
    const res = await post(
      this.request(cert ? endpoints.certLogin : endpoints.login, {
        headers: {
          'X-Application': credentials.appKey,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: new URLSearchParams({
          username: credentials.username,
          password: credentials.password,
        }).toString(),
        clientCert: cert ? { cert: credentials.certPem!, key: credentials.keyPem! } : undefined,
        signal,
      }),
    );
    const json = parseJson(res.body);
    if (json === undefined) throw new BetfairError(operation, answerCode(res.status), snippet(res.body));
    const answer = ANSWER_SCHEMAS.login.safeParse(json);
    if (!answer.success) {
      if (res.status !== 200) throw new BetfairError(operation, `HTTP_${res.status}`, snippet(res.body));
      throw unexpected(operation, json, answer.error, res.body);
    }
    // certlogin answers {sessionToken, loginStatus}; the interactive endpoint {token, status, error}.
    const a = answer.data as {
      loginStatus?: string;
      status?: string;
      sessionToken?: string;
      token?: string;
      error?: string;
    };
    const status = a.loginStatus ?? a.status!;
    const token = a.sessionToken ?? a.token;
    if (status === 'SUCCESS') {
      if (!token)
        throw new BetfairError(
          operation,
          'UNEXPECTED_ANSWER',
          `status SUCCESS without a session token; ${snippet(res.body)}`,
        );
      this.sessionToken = token;
      return;
    }
    throw new BetfairError(operation, status === 'FAIL' && a.error ? a.error : status);
  }

  /**
   * Ends the session; Betfair would otherwise keep it for hours. Not retried: `timeoutMs` bounds it.
   * @param timeoutMs deadline of the request, in milliseconds. @default the client's backstop
   */
  async logout(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (!this.sessionToken) return;
    const res = await post({
      ...this.request(this.options.endpoints.logout, {
        headers: this.authHeaders({ Accept: 'application/json' }),
        body: '',
        signal,
      }),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    const json = parseJson(res.body);
    if (json === undefined) throw new BetfairError('logout', answerCode(res.status), snippet(res.body));
    const answer = ANSWER_SCHEMAS.logout.safeParse(json);
    if (!answer.success) throw unexpected('logout', json, answer.error, res.body);
    if (answer.data.status !== 'SUCCESS')
      throw new BetfairError('logout', answer.data.error || answer.data.status);
    this.sessionToken = undefined;
  }

  /**
   * `cancelOrders` with no market and no instructions: every unmatched bet on the account. A report
   * refusing the whole request (`ERROR_IN_MATCHER`: another cancel-all is running; `TIMEOUT`;
   * `SERVICE_UNAVAILABLE`) is thrown as a {@link BetfairError}, so it is retried like any other
   * transient answer; other report errors come back in the report.
   */
  async cancelAllOrders(signal?: AbortSignal): Promise<CancelExecutionReport> {
    const report = await this.betting('cancelOrders', {}, signal);
    const refused = report.status === 'TIMEOUT' ? 'TIMEOUT' : report.errorCode;
    if (refused && TRANSIENT_CODES.has(refused)) throw new BetfairError('cancelOrders', refused);
    return report;
  }

  /**
   * One page of current orders. `executableOnly` asks for unmatched bets only: the answer then stays
   * far below a page however many matched bets the day holds, so it is not cut short in practice.
   */
  listCurrentOrders(
    fromRecord: number,
    recordCount: number,
    options: { executableOnly?: boolean; signal?: AbortSignal } = {},
  ): Promise<CurrentOrderSummaryReport> {
    return this.betting(
      'listCurrentOrders',
      { orderProjection: options.executableOnly ? 'EXECUTABLE' : 'ALL', fromRecord, recordCount },
      options.signal,
    );
  }

  private async betting<O extends BettingOperation>(
    operation: O,
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<z.infer<(typeof ANSWER_SCHEMAS)[O]>> {
    const sentWith = this.sessionToken;
    try {
      return await this.bettingOnce(operation, params, signal);
    } catch (err) {
      if (!(err instanceof BetfairError && SESSION_ERRORS.includes(err.code))) throw err;
      // Requests sent together (the size listing beside the cancel-all) share one fresh login; a
      // session the fresh login gave that is refused too is not answered by another one.
      if (this.sessionToken === sentWith) {
        if (this.reloggedIn && !this.relogin) throw err;
        this.relogin ??= this.login(signal).then(
          () => {
            this.reloggedIn = true;
            this.relogin = undefined;
          },
          (loginErr: unknown) => {
            this.relogin = undefined;
            throw loginErr;
          },
        );
        await this.relogin;
      }
      return this.bettingOnce(operation, params, signal);
    }
  }

  private async bettingOnce<O extends BettingOperation>(
    operation: O,
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<z.infer<(typeof ANSWER_SCHEMAS)[O]>> {
    if (!this.sessionToken) throw new BetfairError(operation, 'NOT_LOGGED_IN');
    const res = await post(
      this.request(`${this.options.endpoints.betting}${operation}/`, {
        headers: this.authHeaders({ 'Content-Type': 'application/json', Accept: 'application/json' }),
        body: JSON.stringify(params),
        signal,
      }),
    );
    const json = parseJson(res.body);
    if (json === undefined) throw new BetfairError(operation, answerCode(res.status), snippet(res.body));
    // A null `detail` beside a documented answer is no fault (the schema allows unknown fields).
    const fault =
      isObject(json) && ((json.detail !== undefined && json.detail !== null) || json.faultcode !== undefined);
    if (res.status === 200 && !fault) {
      const answer = ANSWER_SCHEMAS[operation].safeParse(json);
      if (!answer.success) throw unexpected(operation, json, answer.error, res.body);
      return answer.data as z.infer<(typeof ANSWER_SCHEMAS)[O]>;
    }
    const detail = isObject(json) && isObject(json.detail) ? json.detail : undefined;
    const apiException = [detail?.APINGException, detail?.AccountAPINGException].find(isObject);
    const code =
      (typeof apiException?.errorCode === 'string' && apiException.errorCode) ||
      (isObject(json) && typeof json.faultstring === 'string' && faultCode(json.faultstring)) ||
      `HTTP_${res.status}`;
    const details = typeof apiException?.errorDetails === 'string' ? apiException.errorDetails : '';
    throw new BetfairError(
      operation,
      code,
      details || (apiException ? undefined : snippet(res.body)),
      res.status,
    );
  }

  private authHeaders(extra: Record<string, string>): Record<string, string> {
    return {
      'X-Application': this.options.credentials.appKey,
      'X-Authentication': this.sessionToken ?? '',
      ...extra,
    };
  }

  private request(
    url: string,
    req: Pick<PostRequest, 'headers' | 'body' | 'clientCert' | 'signal'>,
  ): PostRequest {
    return {
      url,
      ...req,
      timeoutMs: this.options.requestTimeoutMs,
      signal: req.signal ?? this.options.signal,
      ca: this.options.ca,
    };
  }
}

/** The code of an answer that is not JSON: a maintenance page (200) or the HTTP status. */
function answerCode(status: number): string {
  return status >= 200 && status < 300 ? 'NOT_JSON' : `HTTP_${status}`;
}

/** The start of an unexpected answer, for the report. */
function snippet(body: string): string | undefined {
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 60);
  return text ? `answer began ${JSON.stringify(text)}` : undefined;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type BettingOperation = 'cancelOrders' | 'listCurrentOrders';

/**
 * An answer that is JSON but not the shape `operation` returns: what came back (its keys, a
 * JSON-RPC envelope named as such), the first mismatches, and the start of the body.
 */
function unexpected(operation: string, json: unknown, error: z.core.$ZodError, body: string): BetfairError {
  const what = !isObject(json)
    ? `a JSON ${Array.isArray(json) ? 'array' : typeof json}`
    : 'jsonrpc' in json
      ? 'a JSON-RPC envelope, not the REST answer'
      : `an object with keys [${Object.keys(json).slice(0, 8).join(', ')}]`;
  const mismatches = error.issues.slice(0, 3).map((issue) => {
    const at = issue.path.length ? issue.path.map(String).join('.') : '(the answer)';
    const actual = issue.path.reduce<unknown>(
      (v, k) => (isObject(v) || Array.isArray(v) ? (v as never)[k] : undefined),
      json,
    );
    const expected =
      issue.code === 'invalid_type'
        ? issue.expected
        : issue.code === 'invalid_value'
          ? `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
          : issue.code;
    return `${at} is ${actual === undefined ? 'missing' : JSON.stringify(actual)?.slice(0, 40)}, expected ${expected}`;
  });
  return new BetfairError(
    operation,
    'UNEXPECTED_ANSWER',
    `${what}: ${mismatches.join('; ')}; ${snippet(body)}`,
  );
}
