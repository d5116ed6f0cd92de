import * as http from 'node:http';
import { listenOnLoopback, LocalServer } from './listen';

/**
 * The on-call person's inbox of the local stand-in: an HTTP endpoint subscribed to the on-call
 * topic (moto confirms HTTP subscriptions at once and POSTs each message as SNS's JSON envelope),
 * so a fresh stand-in pages someone, as a deployed stack must, and `ops status` sees a subscriber.
 */
export interface Inbox extends LocalServer {
  /** The `Message` of each delivery, oldest first. */
  readonly messages: string[];
}

/** Starts the inbox on 127.0.0.1:`port` (a free port by default); `onMessage` sees each delivery. */
export async function startInbox(
  port = 0,
  onMessage: (message: string) => void = () => undefined,
): Promise<Inbox> {
  const messages: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let message = body;
      try {
        message = String((JSON.parse(body) as { Message?: unknown }).Message ?? body);
      } catch {
        // Not SNS's envelope: kept as sent.
      }
      messages.push(message);
      onMessage(message);
      res.end('ok');
    });
  });
  const listening = await listenOnLoopback(server, port);
  return { ...listening, endpoint: `${listening.endpoint}/on-call`, messages };
}
