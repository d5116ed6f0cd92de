import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { PreflightClients } from '../../lib/ops/preflight-checks';

/** Clients for preflight tests: against `endpoint` (moto) when given, else plain (for aws-sdk-client-mock). */
export function testClients(
  opts: { endpoint?: string; account?: string; region?: string } = {},
): PreflightClients {
  const config = {
    region: opts.region ?? 'eu-west-1',
    endpoint: opts.endpoint,
    credentials: { accessKeyId: opts.account ?? 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  return {
    sts: new STSClient(config),
    cloudformation: new CloudFormationClient(config),
    lambda: new LambdaClient(config),
    iam: new IAMClient(config),
    serviceQuotas: new ServiceQuotasClient(config),
    ecr: new ECRClient(config),
    secrets: new SecretsManagerClient(config),
    sns: new SNSClient(config),
  };
}
