import { EnvironmentName } from '../../environments/types';
import { runbookNames } from '../names';
import { CfnResource, CfnTemplate, referencedIds, refersToAny, resourcesOf } from './template';

/**
 * How the diff recognises the resources a trading system cares about. Physical names first (they are
 * the runbooks' contract and survive construct renames), logical-id prefixes of the current app as a
 * fallback.
 */
export interface SubjectNames {
  /** Task-definition family of the bot. @default `clever-better-bot` */
  readonly botFamily: string;
  /** Task-definition family of the ML service. @default `clever-better-ml` */
  readonly mlFamily: string;
  /** ECS service name of the bot. @default `bot` */
  readonly botServiceName: string;
  /** ECS service name of the ML service. @default `ml-service` */
  readonly mlServiceName: string;
  /** Names of the runtime config secrets holding `live_trading_enabled`. @default one per environment */
  readonly configSecretNames: readonly string[];
}

const ENVIRONMENT_NAMES: readonly EnvironmentName[] = ['staging', 'production'];

/** The names of lib/names.ts, for every environment. */
export const DEFAULT_SUBJECT_NAMES: SubjectNames = (() => {
  const names = runbookNames('staging');
  return {
    botFamily: names.botFamily,
    mlFamily: names.mlFamily,
    botServiceName: names.botService,
    mlServiceName: names.mlService,
    configSecretNames: ENVIRONMENT_NAMES.map((env) => runbookNames(env).configSecret),
  };
})();

/** Logical-id prefixes of the current app (lib/services.ts, lib/secrets.ts), used when a name is a token. */
const ID_PREFIX = {
  botTask: 'ServicesBotTask',
  mlTask: 'ServicesMlTask',
  botService: 'ServicesBotService',
  mlService: 'ServicesMlService',
  configSecret: 'SecretsConfig',
};

/** Emergency-stop wiring is recognised by name: a description or logical id that says so. */
export const EMERGENCY_STOP_PATTERN = /emergency[\s_-]*stop|kill[\s_-]*switch/i;

/** What part of the emergency-stop wiring a resource is. */
export type EmergencyStopPart = 'function' | 'role' | 'policy' | 'alarm' | 'permission' | 'other';

/** The resources of one template the risk summary looks at, by logical id. */
export interface Subjects {
  readonly botTaskDefinitions: Set<string>;
  readonly mlTaskDefinitions: Set<string>;
  readonly botServices: Set<string>;
  readonly mlServices: Set<string>;
  /** ScalableTargets and ScalingPolicies of the ML service. */
  readonly mlScaling: Set<string>;
  readonly configSecrets: Set<string>;
  readonly emergencyStop: Map<string, EmergencyStopPart>;
}

function isTaskDefinition(id: string, r: CfnResource, family: string, prefix: string): boolean {
  if (r.Type !== 'AWS::ECS::TaskDefinition') return false;
  const f = r.Properties?.Family;
  return typeof f === 'string' ? f === family : id.startsWith(prefix);
}

function isService(id: string, r: CfnResource, name: string, prefix: string): boolean {
  if (r.Type !== 'AWS::ECS::Service') return false;
  const n = r.Properties?.ServiceName;
  return typeof n === 'string' ? n === name : id.startsWith(prefix);
}

function ids(
  resources: Record<string, CfnResource>,
  predicate: (id: string, r: CfnResource) => boolean,
): Set<string> {
  return new Set(Object.entries(resources).flatMap(([id, r]) => (predicate(id, r) ? [id] : [])));
}

/** Finds the subjects of one template. */
export function identifySubjects(
  template: CfnTemplate | undefined,
  names: SubjectNames = DEFAULT_SUBJECT_NAMES,
): Subjects {
  const resources = resourcesOf(template);
  const mlServices = ids(resources, (id, r) => isService(id, r, names.mlServiceName, ID_PREFIX.mlService));
  const mlTargets = ids(
    resources,
    (_, r) =>
      r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget' &&
      refersToAny(r.Properties?.ResourceId, mlServices),
  );
  const mlPolicies = ids(
    resources,
    (_, r) =>
      r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy' &&
      refersToAny(r.Properties?.ScalingTargetId, mlTargets),
  );
  return {
    botTaskDefinitions: ids(resources, (id, r) =>
      isTaskDefinition(id, r, names.botFamily, ID_PREFIX.botTask),
    ),
    mlTaskDefinitions: ids(resources, (id, r) => isTaskDefinition(id, r, names.mlFamily, ID_PREFIX.mlTask)),
    botServices: ids(resources, (id, r) => isService(id, r, names.botServiceName, ID_PREFIX.botService)),
    mlServices,
    mlScaling: new Set([...mlTargets, ...mlPolicies]),
    configSecrets: ids(resources, (id, r) => {
      if (r.Type !== 'AWS::SecretsManager::Secret') return false;
      const n = r.Properties?.Name;
      return typeof n === 'string'
        ? names.configSecretNames.includes(n)
        : id.startsWith(ID_PREFIX.configSecret);
    }),
    emergencyStop: emergencyStopWiring(resources),
  };
}

const ALARM_ACTION_KEYS = ['AlarmActions', 'OKActions', 'InsufficientDataActions'];

/** Alarm ids (in `resources`) whose actions invoke one of `functions`. */
export function alarmsInvoking(
  resources: Record<string, CfnResource>,
  functions: ReadonlySet<string>,
): Set<string> {
  return ids(
    resources,
    (_, r) =>
      (r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm') &&
      ALARM_ACTION_KEYS.some((k) => refersToAny(r.Properties?.[k], functions)),
  );
}

/**
 * The emergency stop: functions described or named as such, their roles and the policies on them,
 * the alarms that invoke them, their permissions, invoke configs, aliases and log groups, and any
 * other resource whose logical id names it.
 */
function emergencyStopWiring(resources: Record<string, CfnResource>): Map<string, EmergencyStopPart> {
  const parts = new Map<string, EmergencyStopPart>();
  const functions = ids(
    resources,
    (id, r) =>
      r.Type === 'AWS::Lambda::Function' &&
      (EMERGENCY_STOP_PATTERN.test(String(r.Properties?.Description ?? '')) ||
        EMERGENCY_STOP_PATTERN.test(id)),
  );
  // Aliases and versions stand for their function in alarm actions and permissions.
  const invokable = new Set(functions);
  for (const [id, r] of Object.entries(resources)) {
    if (
      (r.Type === 'AWS::Lambda::Alias' || r.Type === 'AWS::Lambda::Version') &&
      refersToAny(r.Properties?.FunctionName, functions)
    ) {
      invokable.add(id);
    }
  }
  const roles = new Set<string>();
  for (const id of functions) {
    for (const ref of referencedIds(resources[id].Properties?.Role)) roles.add(ref);
    for (const ref of referencedIds(resources[id].Properties?.LoggingConfig)) parts.set(ref, 'other');
  }
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::IAM::Role' && EMERGENCY_STOP_PATTERN.test(String(r.Properties?.Description ?? ''))) {
      roles.add(id);
    }
  }
  for (const id of functions) parts.set(id, 'function');
  for (const id of invokable) if (!parts.has(id)) parts.set(id, 'other');
  for (const id of roles) if (resources[id]) parts.set(id, 'role');
  for (const [id, r] of Object.entries(resources)) {
    if (parts.has(id)) continue;
    if (
      (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
      refersToAny(r.Properties?.Roles, roles)
    ) {
      parts.set(id, 'policy');
    } else if (r.Type.startsWith('AWS::Lambda::') && refersToAny(r.Properties?.FunctionName, invokable)) {
      parts.set(id, r.Type === 'AWS::Lambda::Permission' ? 'permission' : 'other');
    } else if (EMERGENCY_STOP_PATTERN.test(id)) {
      parts.set(id, r.Type.startsWith('AWS::CloudWatch::') ? 'alarm' : 'other');
    }
  }
  for (const id of alarmsInvoking(resources, invokable)) parts.set(id, 'alarm');
  return parts;
}
