import { EnvironmentConfig } from '../environments/types';

/**
 * Resource properties that switch on a resource's own deletion protection, by CloudFormation type,
 * as the CloudFormation resource specification names them (test/deployability/
 * create-rollback.test.ts checks this table against the specification aws-cdk-lib ships, so a type
 * AWS adds fails that test until it is listed here).
 *
 * Why it matters: a create that fails rolls back by deleting what it created, and a service refuses
 * to delete a protected resource (RDS: "Cannot delete protected DB Instance"; ELBv2: "Load balancer
 * … cannot be deleted because deletion protection is enabled"), so the stack ends in
 * ROLLBACK_FAILED and its fixed names block the retry (docs/first-deploy.md "When protection
 * turns on").
 */
export const DELETION_PROTECTION_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::AppConfig::ConfigurationProfile': 'DeletionProtectionCheck',
  'AWS::AppConfig::Environment': 'DeletionProtectionCheck',
  'AWS::AutoScaling::AutoScalingGroup': 'DeletionProtection',
  'AWS::CloudTrail::Dashboard': 'TerminationProtectionEnabled',
  'AWS::CloudTrail::EventDataStore': 'TerminationProtectionEnabled',
  'AWS::Cognito::UserPool': 'DeletionProtection',
  'AWS::DocDB::DBCluster': 'DeletionProtection',
  'AWS::DocDB::GlobalCluster': 'DeletionProtection',
  'AWS::DSQL::Cluster': 'DeletionProtectionEnabled',
  'AWS::DynamoDB::Table': 'DeletionProtectionEnabled',
  'AWS::EC2::Instance': 'DisableApiTermination',
  'AWS::EKS::Cluster': 'DeletionProtection',
  'AWS::Logs::LogGroup': 'DeletionProtectionEnabled',
  'AWS::Neptune::DBCluster': 'DeletionProtection',
  'AWS::Neptune::GlobalCluster': 'DeletionProtection',
  'AWS::NeptuneGraph::Graph': 'DeletionProtection',
  'AWS::NetworkFirewall::Firewall': 'DeleteProtection',
  'AWS::OpenSearchServerless::Collection': 'DeletionProtection',
  'AWS::QLDB::Ledger': 'DeletionProtection',
  'AWS::RDS::DBCluster': 'DeletionProtection',
  'AWS::RDS::DBInstance': 'DeletionProtection',
  'AWS::RDS::GlobalCluster': 'DeletionProtection',
  'AWS::SMSVOICE::PhoneNumber': 'DeletionProtectionEnabled',
  'AWS::SMSVOICE::Pool': 'DeletionProtectionEnabled',
  'AWS::SMSVOICE::ProtectConfiguration': 'DeletionProtectionEnabled',
  'AWS::SMSVOICE::SenderId': 'DeletionProtectionEnabled',
  'AWS::SSMIncidents::ReplicationSet': 'DeletionProtected',
  'AWS::VerifiedPermissions::PolicyStore': 'DeletionProtection',
  'AWS::WellArchitected::AgentProfile': 'DeletionProtection',
};

/**
 * Types whose protection is on when the property is left out: QLDB ledgers ("DeletionProtection …
 * default true", AWS::QLDB::Ledger reference).
 */
const ON_BY_DEFAULT = new Set(['AWS::QLDB::Ledger']);

/**
 * Values that mean "off" for the string-typed properties (Cognito `INACTIVE`, OpenSearch
 * Serverless `DISABLED`, AppConfig `BYPASS`, Verified Permissions `{ Mode: 'DISABLED' }`).
 */
const OFF_VALUES = new Set(['false', 'inactive', 'disabled', 'bypass', 'account_default']);

function isOn(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const mode = (value as { Mode?: unknown }).Mode;
    return mode === undefined ? true : isOn(mode);
  }
  return !OFF_VALUES.has(String(value).toLowerCase());
}

/** One resource of a template, as far as this module reads it. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * Where `resource` turns its deletion protection on at create, e.g. `DeletionProtection: true` or
 * the ELBv2 attribute `deletion_protection.enabled=true` (any `…Attributes` list of `Key`/`Value`
 * pairs whose key names deletion protection); undefined when it does not.
 */
export function createTimeProtection(resource: TemplateResource): string | undefined {
  const props = resource.Properties ?? {};
  const property = DELETION_PROTECTION_PROPERTIES[resource.Type];
  if (property) {
    const value = props[property];
    if (value === undefined ? ON_BY_DEFAULT.has(resource.Type) : isOn(value))
      return `${property}: ${value === undefined ? '(default on)' : JSON.stringify(value)}`;
  }
  for (const [name, list] of Object.entries(props)) {
    if (!/Attributes$/.test(name) || !Array.isArray(list)) continue;
    for (const attr of list as { Key?: unknown; Value?: unknown }[])
      if (typeof attr?.Key === 'string' && /deletion_protection/i.test(attr.Key) && isOn(attr.Value))
        return `${name} ${attr.Key}=${String(attr.Value)}`;
  }
  return undefined;
}

/**
 * What an environment's stacks switch on. Deletion and termination protection are asked for in
 * `environments/` and take effect only once `stackCreated` says the stack exists: until then a
 * failed create must roll back to nothing, and a stack left in ROLLBACK_COMPLETE must be deletable
 * for the retry (CloudFormation refuses DeleteStack while termination protection is on).
 */
export function protections(config: EnvironmentConfig): {
  readonly termination: boolean;
  readonly database: boolean;
  readonly loadBalancer: boolean;
} {
  return {
    termination: config.terminationProtection && config.stackCreated,
    database: config.database.deletionProtection && config.stackCreated,
    loadBalancer: config.loadBalancerDeletionProtection && config.stackCreated,
  };
}
