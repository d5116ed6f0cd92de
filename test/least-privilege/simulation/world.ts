/**
 * A synthesized template as AWS would hold it once deployed: every intrinsic resolved to the
 * physical names and ARNs CloudFormation would give the resources, the identity policies of each
 * role and the resource policy of each resource that can have one (SNS topic, KMS key, Secrets
 * Manager secret, Lambda function, ECR registry and repository, role trust). The simulation
 * (./simulate.ts) evaluates requests against exactly these documents.
 *
 * Generated names are stand-ins (`<stack>-<logicalId>`): a policy that allows a resource names it
 * through the same Ref/GetAtt, so the stand-in is consistent on both sides of a request.
 */

/** One statement of an IAM policy document, as the template holds it after resolution. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}

/** A template resource with what a request needs to know about it. */
export interface WorldResource {
  readonly logicalId: string;
  readonly type: string;
  /** The resolved properties. */
  readonly properties: Record<string, unknown>;
  /** What `Ref` returns. */
  readonly ref: string;
  /** The ARN (GetAtt Arn, or Ref where Ref is the ARN). */
  readonly arn?: string;
  /** The physical name (RoleName, FunctionName, TopicName, …). */
  readonly name?: string;
}

type Template = {
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, { Value: unknown }>;
};

/** A random-looking but stable suffix, as Secrets Manager appends to a secret's name. */
const SECRET_SUFFIX = 'AbCdEf';

export class World {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly partition = 'aws';
  readonly resources = new Map<string, WorldResource>();
  /** The stack's outputs, resolved. */
  readonly outputs: Record<string, string> = {};
  private readonly raw: NonNullable<Template['Resources']>;

  constructor(template: Template, stack: { stackName: string; account: string; region: string }) {
    this.stackName = stack.stackName;
    this.account = stack.account;
    this.region = stack.region;
    this.raw = template.Resources ?? {};
    // Names first (Ref/GetAtt need them), then properties, which may refer to any resource.
    for (const [id, r] of Object.entries(this.raw)) this.resources.set(id, this.identify(id, r));
    for (const [id, r] of Object.entries(this.raw)) {
      const resolved = this.resolve(r.Properties ?? {}) as Record<string, unknown>;
      this.resources.set(id, { ...this.resources.get(id)!, properties: resolved });
    }
    for (const [key, output] of Object.entries(template.Outputs ?? {}))
      this.outputs[key] = String(this.resolve(output.Value));
  }

  /** Resources of one CloudFormation type. */
  ofType(type: string): WorldResource[] {
    return [...this.resources.values()].filter((r) => r.type === type);
  }

  /** The resource whose Ref, ARN or name is `value`, if any (an ARN or Ref first: names repeat across types). */
  named(value: string): WorldResource | undefined {
    return this.namedAll(value)[0];
  }

  /** Every resource whose Ref, ARN or name is `value` (a cluster and a database may share a name). */
  namedAll(value: string): WorldResource[] {
    const all = [...this.resources.values()];
    const exact = all.filter((r) => r.ref === value || r.arn === value);
    return [...exact, ...all.filter((r) => !exact.includes(r) && r.name !== undefined && r.name === value)];
  }

  arn(service: string, resource: string, region = this.region): string {
    return `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`;
  }

  /** The physical name or ARN CloudFormation would give, from the properties that fix it. */
  private identify(id: string, r: { Type: string; Properties?: Record<string, unknown> }): WorldResource {
    const p = r.Properties ?? {};
    const literal = (key: string) => (typeof p[key] === 'string' ? (p[key] as string) : undefined);
    const generated = `${this.stackName}-${id}`;
    const base = { logicalId: id, type: r.Type, properties: p };
    switch (r.Type) {
      case 'AWS::IAM::Role': {
        const name = literal('RoleName') ?? generated;
        return { ...base, ref: name, name, arn: `arn:${this.partition}:iam::${this.account}:role/${name}` };
      }
      case 'AWS::Lambda::Function': {
        const name = literal('FunctionName') ?? generated;
        return { ...base, ref: name, name, arn: this.arn('lambda', `function:${name}`) };
      }
      case 'AWS::SecretsManager::Secret': {
        const name = literal('Name') ?? generated;
        const arn = this.arn('secretsmanager', `secret:${name}-${SECRET_SUFFIX}`);
        return { ...base, ref: arn, name, arn };
      }
      case 'AWS::SNS::Topic': {
        const name = literal('TopicName') ?? generated;
        const arn = this.arn('sns', name);
        return { ...base, ref: arn, name, arn };
      }
      case 'AWS::KMS::Key': {
        const keyId = `00000000-0000-4000-8000-${id
          .replace(/[^0-9A-Fa-f]/g, '')
          .padEnd(12, '0')
          .slice(0, 12)
          .toLowerCase()}`;
        return { ...base, ref: keyId, name: keyId, arn: this.arn('kms', `key/${keyId}`) };
      }
      case 'AWS::ECS::Cluster': {
        const name = literal('ClusterName') ?? generated;
        return { ...base, ref: name, name, arn: this.arn('ecs', `cluster/${name}`) };
      }
      case 'AWS::ECS::Service': {
        const name = literal('ServiceName') ?? generated;
        const cluster = (p.Cluster as { Ref?: string } | undefined)?.Ref;
        const clusterName = cluster
          ? ((this.raw[cluster]?.Properties?.ClusterName as string | undefined) ??
            `${this.stackName}-${cluster}`)
          : 'default';
        const arn = this.arn('ecs', `service/${clusterName}/${name}`);
        return { ...base, ref: arn, name, arn };
      }
      case 'AWS::ECS::TaskDefinition': {
        const family = literal('Family') ?? generated;
        const arn = this.arn('ecs', `task-definition/${family}:1`);
        return { ...base, ref: arn, name: family, arn };
      }
      case 'AWS::CloudWatch::Alarm':
      case 'AWS::CloudWatch::CompositeAlarm': {
        const name = literal('AlarmName') ?? generated;
        return { ...base, ref: name, name, arn: this.arn('cloudwatch', `alarm:${name}`) };
      }
      case 'AWS::Events::Rule': {
        const name = literal('Name') ?? generated;
        return { ...base, ref: name, name, arn: this.arn('events', `rule/${name}`) };
      }
      case 'AWS::RDS::DBInstance': {
        const name = literal('DBInstanceIdentifier') ?? generated.toLowerCase();
        return { ...base, ref: name, name, arn: this.arn('rds', `db:${name}`) };
      }
      case 'AWS::RDS::EventSubscription': {
        const name = literal('SubscriptionName') ?? generated.toLowerCase();
        return { ...base, ref: name, name, arn: this.arn('rds', `es:${name}`) };
      }
      case 'AWS::Logs::LogGroup': {
        const name = literal('LogGroupName') ?? generated;
        return { ...base, ref: name, name, arn: this.arn('logs', `log-group:${name}:*`) };
      }
      case 'AWS::ECR::Repository': {
        const name = literal('RepositoryName') ?? generated.toLowerCase();
        return { ...base, ref: name, name, arn: this.arn('ecr', `repository/${name}`) };
      }
      case 'AWS::S3::Bucket': {
        const name = literal('BucketName') ?? generated.toLowerCase();
        return { ...base, ref: name, name, arn: `arn:${this.partition}:s3:::${name}` };
      }
      case 'AWS::IAM::OIDCProvider': {
        const url = literal('Url') ?? generated;
        const arn = `arn:${this.partition}:iam::${this.account}:oidc-provider/${url.replace(/^https:\/\//, '')}`;
        return { ...base, ref: arn, arn };
      }
      default:
        return { ...base, ref: generated };
    }
  }

  private getAtt(id: string, attribute: string): string {
    const r = this.resources.get(id);
    if (!r) throw new Error(`${this.stackName}: GetAtt of unknown resource ${id}`);
    if (attribute === 'Arn' || attribute.endsWith('Arn')) return r.arn ?? this.arn('unknown', id);
    if (attribute === 'Name' || attribute.endsWith('Name')) return r.name ?? r.ref;
    if (attribute === 'Endpoint.Address') return `${r.ref}.example.${this.region}.rds.amazonaws.com`;
    if (attribute === 'Endpoint.Port') return '5432';
    return `${id}.${attribute}`;
  }

  private pseudo(name: string): string {
    switch (name) {
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NoValue':
        return '';
      default:
        throw new Error(`${this.stackName}: unknown pseudo parameter ${name}`);
    }
  }

  /** Resolves CloudFormation intrinsics; an unknown one fails, naming it (no silent guess). */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = o[k];
      if (k === 'Ref') {
        const name = arg as string;
        if (name.startsWith('AWS::')) return this.pseudo(name);
        const r = this.resources.get(name);
        if (!r) return `parameter:${name}`;
        return r.ref;
      }
      if (k === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
        return this.getAtt(id as string, attribute as string);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).join(sep);
      }
      if (k === 'Fn::Select') {
        const [index, list] = this.resolve(arg) as [string | number, unknown[]];
        return list[Number(index)];
      }
      if (k === 'Fn::Split') {
        const [sep, text] = this.resolve(arg) as [string, string];
        return text.split(sep);
      }
      if (k === 'Fn::Sub') {
        const [text, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [arg as string, {}];
        const bound = this.resolve(vars) as Record<string, string>;
        return text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (name in bound) return bound[name];
          if (name.startsWith('AWS::')) return this.pseudo(name);
          const [id, attribute] = name.split(/\.(.+)/);
          return attribute ? this.getAtt(id, attribute) : (this.resources.get(id)?.ref ?? `\${${name}}`);
        });
      }
      if (k.startsWith('Fn::'))
        throw new Error(`${this.stackName}: intrinsic ${k} is not resolved by world.ts. Fix: add it`);
    }
    return Object.fromEntries(keys.map((key) => [key, this.resolve(o[key])]));
  }
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The identity and resource policies of a {@link World}, by role and by resource ARN. */
export class Policies {
  constructor(readonly world: World) {}

  /** The role resource of `roleArn`. */
  role(roleArn: string): WorldResource {
    const role = this.world.ofType('AWS::IAM::Role').find((r) => r.arn === roleArn);
    if (!role) throw new Error(`${this.world.stackName} has no role ${roleArn}`);
    return role;
  }

  /**
   * Inline policies of the role plus every AWS::IAM::Policy / ManagedPolicy attached to it. An AWS
   * managed policy cannot be read offline: a role that has one fails here, naming it, rather than
   * being simulated with rights it may not have.
   */
  identityPolicies(roleArn: string): { name: string; policy: PolicyDocument }[] {
    const role = this.role(roleArn);
    const inline = asList(
      role.properties.Policies as { PolicyName: string; PolicyDocument: PolicyDocument }[],
    ).map((p) => ({ name: `${role.logicalId}/${p.PolicyName}`, policy: p.PolicyDocument }));
    const managed = asList(role.properties.ManagedPolicyArns as string[]);
    if (managed.length)
      throw new Error(
        `${this.world.stackName}: role ${role.logicalId} has managed policies ${managed.join(', ')}, which this simulation cannot read`,
      );
    const attached = [
      ...this.world.ofType('AWS::IAM::Policy'),
      ...this.world.ofType('AWS::IAM::ManagedPolicy'),
    ]
      .filter((p) => asList(p.properties.Roles as string[]).includes(role.ref))
      .map((p) => ({ name: p.logicalId, policy: p.properties.PolicyDocument as PolicyDocument }));
    return [...inline, ...attached];
  }

  /**
   * The resource policy AWS evaluates for a request on `arn`: a topic's policy, a key's policy, a
   * secret's resource policy, a function's permissions, an ECR repository's or registry's policy, a
   * role's trust policy. Undefined when the resource has none.
   */
  resourcePolicy(arn: string): PolicyDocument | undefined {
    const r = this.world.named(arn) ?? this.keyOf(arn);
    if (!r) return this.registryPolicy(arn);
    switch (r.type) {
      case 'AWS::SNS::Topic': {
        const policies = this.world
          .ofType('AWS::SNS::TopicPolicy')
          .filter((p) => asList(p.properties.Topics as string[]).includes(r.ref));
        if (policies.length === 0) return undefined;
        return {
          Version: '2012-10-17',
          Statement: policies.flatMap((p) => (p.properties.PolicyDocument as PolicyDocument).Statement),
        };
      }
      case 'AWS::KMS::Key':
        return r.properties.KeyPolicy as PolicyDocument;
      case 'AWS::SecretsManager::Secret': {
        const policies = this.world
          .ofType('AWS::SecretsManager::ResourcePolicy')
          .filter((p) => p.properties.SecretId === r.ref || p.properties.SecretId === r.arn);
        if (policies.length === 0) return undefined;
        return {
          Version: '2012-10-17',
          Statement: policies.flatMap((p) => (p.properties.ResourcePolicy as PolicyDocument).Statement),
        };
      }
      case 'AWS::Lambda::Function': {
        const statements = this.world
          .ofType('AWS::Lambda::Permission')
          .filter((p) => p.properties.FunctionName === r.arn || p.properties.FunctionName === r.name)
          .map((p, i) => lambdaPermissionStatement(p, r.arn!, i));
        return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
      }
      case 'AWS::ECR::Repository': {
        const own = r.properties.RepositoryPolicyText as PolicyDocument | undefined;
        const registry = this.registryPolicy(r.arn!);
        const statements = [...(own?.Statement ?? []), ...(registry?.Statement ?? [])];
        return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
      }
      case 'AWS::IAM::Role':
        return r.properties.AssumeRolePolicyDocument as PolicyDocument;
      default:
        return undefined;
    }
  }

  /** The KMS key of a key ARN (Ref of a key is its id, the ARN ends with it). */
  private keyOf(arn: string): WorldResource | undefined {
    return this.world.ofType('AWS::KMS::Key').find((k) => k.arn === arn);
  }

  /** The registry policy statements of this account that name `arn` (ECR evaluates it for ReplicateImage). */
  private registryPolicy(arn: string): PolicyDocument | undefined {
    if (!arn.startsWith(`arn:${this.world.partition}:ecr:`)) return undefined;
    const statements = this.world
      .ofType('AWS::ECR::RegistryPolicy')
      .flatMap((p) => (p.properties.PolicyText as PolicyDocument).Statement);
    return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
  }

  /** The KMS key a secret or topic is encrypted with (its `KmsKeyId` / `KmsMasterKeyId`), as an ARN. */
  keyOfResource(arn: string): string | undefined {
    const r = this.world.named(arn);
    const id = (r?.properties.KmsKeyId ?? r?.properties.KmsMasterKeyId) as string | undefined;
    if (!id) return undefined;
    return this.world.ofType('AWS::KMS::Key').find((k) => k.arn === id || k.ref === id)?.arn ?? id;
  }
}

/**
 * The resource-policy statement Lambda adds for an AWS::Lambda::Permission (Lambda developer guide,
 * "Viewing resource-based IAM policies in Lambda": principal, SourceArn as ArnLike, SourceAccount
 * as StringEquals).
 */
function lambdaPermissionStatement(p: WorldResource, functionArn: string, i: number): Statement {
  const principal = String(p.properties.Principal);
  const condition: Record<string, Record<string, unknown>> = {};
  if (p.properties.SourceArn) condition.ArnLike = { 'aws:SourceArn': p.properties.SourceArn };
  if (p.properties.SourceAccount)
    condition.StringEquals = { 'aws:SourceAccount': p.properties.SourceAccount };
  return {
    Sid: p.logicalId || `permission-${i}`,
    Effect: 'Allow',
    Principal: principal.endsWith('.amazonaws.com')
      ? { Service: principal }
      : { AWS: /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal },
    Action: String(p.properties.Action),
    Resource: functionArn,
    ...(Object.keys(condition).length ? { Condition: condition } : {}),
  };
}
