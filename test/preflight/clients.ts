import { preflightClients } from '../../lib/ops/preflight';
import { PreflightClients } from '../../lib/ops/preflight-checks';

/** Clients for preflight tests: against `endpoint` (moto) when given, else plain (for aws-sdk-client-mock). */
export function testClients(
  opts: { endpoint?: string; account?: string; region?: string } = {},
): PreflightClients {
  return preflightClients({
    region: opts.region ?? 'eu-west-1',
    endpoint: opts.endpoint,
    credentials: { accessKeyId: opts.account ?? 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
}
