import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A stand-in HTTP server listening on loopback. */
export interface LocalServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (a free port by default); `stop` cuts open connections and closes. */
export async function listenOnLoopback(server: http.Server, port = 0): Promise<LocalServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
