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
 * `NOT_JSON` (a 200 answer that is a maintenance page) and `HTTP_5xx` / `HTTP_429`.
 * `TEMPORARY_BAN_TOO_MANY_REQUESTS` is not among them: it is a login ban that lasts minutes.
 */
const TRANSIENT_CODES = new Set([
  'SERVICE_BUSY',
  'TOO_MANY_REQUESTS',
  'ERROR_IN_MATCHER',
  'TIMEOUT_ERROR',
  'UNEXPECTED_ERROR',
  'SERVICE_UNAVAILABLE',
  'NOT_JSON',
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
  ) {
    super(`Betfair ${operation}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'BetfairError';
  }

  /** Whether the same request may succeed later (see {@link TRANSIENT_CODES}). */
  get transient(): boolean {
    return TRANSIENT_CODES.has(this.code) || /^HTTP_5\d\d$/.test(this.code);
  }
}

/** Both names Betfair's documentation uses for an expired or unknown session. */
export const SESSION_ERRORS: readonly string[] = ['INVALID_SESSION_INFORMATION', 'INVALID_SESSION_TOKEN'];

/** Old REST fault strings map to these APINGException codes. */
const ANGX_CODES: Record<string, string> = {
  'ANGX-0003': 'INVALID_SESSION_INFORMATION',
  'ANGX-0007': 'INVALID_APP_KEY',
};

export type ExecutionReportStatus = 'SUCCESS' | 'FAILURE' | 'PROCESSED_WITH_ERRORS' | 'TIMEOUT';

export interface CancelInstructionReport {
  readonly status: 'SUCCESS' | 'FAILURE' | 'TIMEOUT';
  readonly errorCode?: string;
  readonly instruction?: { readonly betId?: string; readonly sizeReduction?: number };
  readonly sizeCancelled?: number;
  readonly cancelledDate?: string;
}

/** Betfair's CancelExecutionReport. */
export interface CancelExecutionReport {
  readonly customerRef?: string;
  readonly status: ExecutionReportStatus;
  readonly errorCode?: string;
  readonly marketId?: string;
  readonly instructionReports?: readonly CancelInstructionReport[];
}

/** The fields of Betfair's CurrentOrderSummary the stop reports on. */
export interface CurrentOrderSummary {
  readonly betId: string;
  readonly marketId: string;
  readonly status: 'EXECUTABLE' | 'EXECUTION_COMPLETE' | string;
  readonly side?: string;
  readonly orderType?: string;
  readonly priceSize?: { readonly price: number; readonly size: number };
  readonly sizeMatched?: number;
  readonly sizeRemaining?: number;
}

/** Betfair's CurrentOrderSummaryReport. */
export interface CurrentOrderSummaryReport {
  readonly currentOrders: readonly CurrentOrderSummary[];
  readonly moreAvailable: boolean;
}

export interface BetfairClientOptions {
  readonly endpoints: BetfairEndpoints;
  readonly credentials: BetfairCredentials;
  /** Deadline of each HTTP request, in milliseconds. */
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
    // certlogin answers {sessionToken, loginStatus}; the interactive endpoint {token, status, error}.
    const status = String(json?.loginStatus ?? json?.status ?? `HTTP_${res.status}`);
    const token = json?.sessionToken ?? json?.token;
    if (status !== 'SUCCESS' || typeof token !== 'string' || token === '')
      throw new BetfairError(operation, status === 'FAIL' && json?.error ? String(json.error) : status);
    this.sessionToken = token;
  }

  /** Ends the session; Betfair would otherwise keep it for hours. */
  async logout(signal?: AbortSignal): Promise<void> {
    if (!this.sessionToken) return;
    const res = await post(
      this.request(this.options.endpoints.logout, {
        headers: this.authHeaders({ Accept: 'application/json' }),
        body: '',
        signal,
      }),
    );
    const json = parseJson(res.body);
    if (json?.status !== 'SUCCESS')
      throw new BetfairError('logout', String(json?.error || json?.status || `HTTP_${res.status}`));
    this.sessionToken = undefined;
  }

  /**
   * `cancelOrders` with no market and no instructions: every unmatched bet on the account. A report
   * refusing the whole request (`ERROR_IN_MATCHER`: another cancel-all is running; `TIMEOUT`;
   * `SERVICE_UNAVAILABLE`) is thrown as a {@link BetfairError}, so it is retried like any other
   * transient answer; other report errors come back in the report.
   */
  async cancelAllOrders(signal?: AbortSignal): Promise<CancelExecutionReport> {
    const report = await this.betting<CancelExecutionReport>('cancelOrders', {}, signal);
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
    return this.betting<CurrentOrderSummaryReport>(
      'listCurrentOrders',
      { orderProjection: options.executableOnly ? 'EXECUTABLE' : 'ALL', fromRecord, recordCount },
      options.signal,
    );
  }

  private async betting<T>(
    operation: string,
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const sentWith = this.sessionToken;
    try {
      return await this.bettingOnce<T>(operation, params, signal);
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
      return this.bettingOnce<T>(operation, params, signal);
    }
  }

  private async bettingOnce<T>(
    operation: string,
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
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
    if (res.status === 200 && json && !json.detail && !json.faultcode) return json as T;
    const apiException = json?.detail?.APINGException ?? json?.detail?.AccountAPINGException;
    const code =
      apiException?.errorCode ??
      ANGX_CODES[String(json?.faultstring)] ??
      json?.faultstring ??
      `HTTP_${res.status}`;
    throw new BetfairError(operation, String(code), apiException?.errorDetails || undefined);
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseJson(body: string): any {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
