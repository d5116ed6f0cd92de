import { DeepPartial, EnvironmentConfig } from './types';

// The on-call address has no shared default: each environment names its own.
type Base = Omit<EnvironmentConfig, 'name' | 'stackName' | 'account' | 'alarmEmail'>;
type Overrides = Pick<EnvironmentConfig, 'name' | 'stackName' | 'account' | 'alarmEmail'> & DeepPartial<Base>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merges plain objects; arrays and scalars in `override` replace the base value. */
export function deepMerge<T>(baseValue: T, override: unknown): T {
  if (!isPlainObject(baseValue) || !isPlainObject(override)) {
    return (override === undefined ? baseValue : override) as T;
  }
  const result: Record<string, unknown> = { ...baseValue };
  for (const [key, value] of Object.entries(override)) {
    if (value !== undefined) result[key] = deepMerge((baseValue as Record<string, unknown>)[key], value);
  }
  return result as T;
}

/** Builds one environment from the shared base plus its real differences, frozen so nothing mutates it. */
export function defineEnvironment(baseConfig: Base, overrides: Overrides): EnvironmentConfig {
  return deepFreeze(deepMerge(baseConfig as EnvironmentConfig, overrides));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
