import { SERVICE_KEYS, ServiceKey } from '../../lambda/rollback/types';
import { UsageError } from './context';

/**
 * The one `--service` grammar of every ops command: the ECS service names of the guide (`bot`,
 * `ml-service`), plus `ml` for `ml-service` because its repository, log group and config key say
 * `ml`. Every command that takes `--service` parses it here.
 */
export const SERVICE_ALIASES: Readonly<Record<string, ServiceKey>> = { ml: 'ml-service' };

/** `<bot|ml-service>`, for usage lines. */
export const SERVICE_USAGE = `<${SERVICE_KEYS.join('|')}>`;

/** The service `--service` names, or a usage error listing the names and the alias. */
export function parseService(value: string | boolean | undefined): ServiceKey {
  if (typeof value === 'string') {
    if ((SERVICE_KEYS as readonly string[]).includes(value)) return value as ServiceKey;
    if (value in SERVICE_ALIASES) return SERVICE_ALIASES[value];
  }
  const given =
    value === undefined
      ? 'is missing'
      : typeof value === 'string'
        ? `"${value}" is not a service`
        : 'needs a value';
  const aliases = Object.entries(SERVICE_ALIASES).map(([a, s]) => `${a} for ${s}`);
  throw new UsageError(
    `--service ${given}: use --service ${SERVICE_KEYS.join(' | ')} (also ${aliases.join(', ')})`,
  );
}

/** The config key of a service in environments/ (`bot`, `ml`). */
export function configKey(service: ServiceKey): 'bot' | 'ml' {
  return service === 'bot' ? 'bot' : 'ml';
}
