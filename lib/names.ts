import { EnvironmentName } from '../environments/types';

/**
 * Physical names the guide's runbooks and operators' commands depend on. Everything else gets a
 * generated name. Each environment has its own account, so only cluster and secrets carry the
 * environment name, exactly as in the deployment guide.
 */
export interface RunbookNames {
  readonly cluster: string;
  readonly botService: string;
  readonly mlService: string;
  readonly botLogGroup: string;
  readonly mlLogGroup: string;
  readonly betfairSecret: string;
  readonly databaseSecret: string;
  readonly configSecret: string;
  readonly botRepository: string;
  readonly mlRepository: string;
  readonly databaseName: string;
  /** Task-definition families, as the guide's `clever-better-bot:<revision>` commands use them. */
  readonly botFamily: string;
  readonly mlFamily: string;
}

export function runbookNames(env: EnvironmentName | 'local'): RunbookNames {
  return {
    cluster: `clever-better-${env}`,
    botService: 'bot',
    mlService: 'ml-service',
    botLogGroup: '/ecs/clever-better-bot',
    mlLogGroup: '/ecs/clever-better-ml',
    betfairSecret: `clever-better/${env}/betfair`,
    databaseSecret: `clever-better/${env}/database`,
    configSecret: `clever-better/${env}/config`,
    botRepository: 'clever-better-bot',
    mlRepository: 'clever-better-ml',
    databaseName: 'clever_better',
    botFamily: 'clever-better-bot',
    mlFamily: 'clever-better-ml',
  };
}
