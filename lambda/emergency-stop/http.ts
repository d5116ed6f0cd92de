import * as http from 'node:http';
import * as https from 'node:https';
import { TimeoutError } from './time';

/** One HTTP POST. Node's own http/https: fetch on Node 20 cannot present a client certificate. */
export interface PostRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Whole-request deadline in milliseconds (connect, TLS, send, receive). */
  readonly timeoutMs: number;
  /** Aborts the request (the step's own deadline). */
  readonly signal?: AbortSignal;
  /** Client certificate and key (PEM) presented in the TLS handshake, for Betfair's certlogin. */
  readonly clientCert?: { readonly cert: string; readonly key: string };
  /** Extra trusted CA certificates (PEM). Only tests set it, for their local TLS server. @default Node's CAs */
  readonly ca?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/** Larger answers are refused: a current-orders page of 1000 orders is well below. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export function post(req: PostRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const body = Buffer.from(req.body, 'utf8');
    const options: https.RequestOptions = {
      method: 'POST',
      headers: { ...req.headers, 'Content-Length': String(body.length) },
      ...(req.clientCert ? { cert: req.clientCert.cert, key: req.clientCert.key } : {}),
      ...(req.ca ? { ca: req.ca } : {}),
    };
    const request = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES)
          request.destroy(new Error(`${url.pathname}: response over ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        finish();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(
      () => request.destroy(new TimeoutError(`POST ${url.host}${url.pathname}`, req.timeoutMs)),
      req.timeoutMs,
    );
    const onAbort = () =>
      request.destroy(req.signal?.reason instanceof Error ? req.signal.reason : new Error('aborted'));
    function finish() {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
    function fail(err: Error) {
      finish();
      reject(err);
    }
    request.on('error', fail);
    if (req.signal?.aborted) {
      onAbort();
      return;
    }
    req.signal?.addEventListener('abort', onAbort, { once: true });
    request.end(body);
  });
}
