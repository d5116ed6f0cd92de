/**
 * Shared walker of test/deployability/: reads every stack the app defines (lib/app.ts, the same set
 * `bin/app.ts` deploys), synthesized once per jest run, and lets a rule visit their resources generically.
 *
 * A rule file walks resources by type or property, never by logical id, collects violations as
 * readable strings, counts what it checked, and ends with `expectChecked`, so it cannot pass
 * vacuously when a refactor removes what it guards. Each rule file names the AWS document it encodes.
 */
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { sharedAssemblyDir } from '../helpers/shared-assembly';

/** One resource of a template, as far as the rules read it. */
export interface CfnResource {
  readonly Type: string;
  // Template JSON: every rule narrows what it reads.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly Properties?: Record<string, any>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly DependsOn?: string | string[];
  readonly Metadata?: Record<string, unknown>;
}

/** One synthesized stack. */
export interface SynthesizedStack {
  /** CloudFormation stack name. */
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly resources: Readonly<Record<string, CfnResource>>;
}

/** A resource with where it lives, for rules and their messages. */
export interface Located {
  readonly stack: SynthesizedStack;
  readonly logicalId: string;
  readonly resource: CfnResource;
  /** `Stack/construct/path` (from `aws:cdk:path`), else `Stack/logicalId`: for messages only. */
  readonly where: string;
}

let cache: SynthesizedStack[] | undefined;

/**
 * Every stack the app synthesizes, without bundling Lambda code (no rule reads it), read from the
 * run's one synthesis of the app (test/helpers/shared-assembly.ts, path metadata on).
 */
export function appStacks(): SynthesizedStack[] {
  cache ??= new CloudAssembly(sharedAssemblyDir()).stacksRecursively.map((artifact) => ({
    name: artifact.stackName,
    account: artifact.environment.account,
    region: artifact.environment.region,
    resources: (artifact.template as { Resources?: Record<string, CfnResource> }).Resources ?? {},
  }));
  return cache;
}

/** Every resource of every stack, optionally only those of `type`. */
export function allResources(type?: string): Located[] {
  return appStacks().flatMap((stack) =>
    Object.entries(stack.resources)
      .filter(([, resource]) => type === undefined || resource.Type === type)
      .map(([logicalId, resource]) => ({ stack, logicalId, resource, where: whereOf(stack, logicalId) })),
  );
}

function whereOf(stack: SynthesizedStack, logicalId: string): string {
  const cdkPath = stack.resources[logicalId]?.Metadata?.['aws:cdk:path'];
  return typeof cdkPath === 'string' ? cdkPath.replace(/\/Resource$/, '') : `${stack.name}/${logicalId}`;
}

/** The logical id a `Ref` or `Fn::GetAtt` points to, if `value` is one. */
export function referencedId(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  if (typeof v.Ref === 'string') return v.Ref;
  if (Array.isArray(v['Fn::GetAtt']) && typeof v['Fn::GetAtt'][0] === 'string') return v['Fn::GetAtt'][0];
  return undefined;
}

/** Resolves a `Ref`/`Fn::GetAtt` to the resource it names in the same stack. */
export function resolve(stack: SynthesizedStack, value: unknown): Located | undefined {
  const id = referencedId(value);
  const resource = id === undefined ? undefined : stack.resources[id];
  return resource && id ? { stack, logicalId: id, resource, where: whereOf(stack, id) } : undefined;
}

/** The `DependsOn` of a resource as a list. */
export function dependsOn(resource: CfnResource): string[] {
  const d = resource.DependsOn;
  return d === undefined ? [] : Array.isArray(d) ? d : [d];
}

/** A value that may be a single item or a list (IAM `Action`, `Resource`, principals), as a list. */
export function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * Fails unless the rule examined at least one thing: a rule that finds nothing to check has lost
 * what it guards (renamed property, moved resource) and must not pass silently.
 */
export function expectChecked(count: number, what: string): void {
  if (count < 1) throw new Error(`this rule checked no ${what}: it would pass vacuously`);
}

/** One IAM policy statement, as far as the rules read it. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A statement with the resource that holds it. */
export interface LocatedStatement extends Located {
  readonly statement: PolicyStatement;
}

function statementsOf(document: unknown): PolicyStatement[] {
  return asList((document as { Statement?: PolicyStatement | PolicyStatement[] } | undefined)?.Statement);
}

/** Every statement of every identity-based policy: inline role policies, policies, managed policies. */
export function identityStatements(): LocatedStatement[] {
  const out: LocatedStatement[] = [];
  for (const located of allResources()) {
    const { Type, Properties } = located.resource;
    const documents =
      Type === 'AWS::IAM::Policy' || Type === 'AWS::IAM::ManagedPolicy'
        ? [Properties?.PolicyDocument]
        : Type === 'AWS::IAM::Role'
          ? asList(Properties?.Policies as { PolicyDocument: unknown }[] | undefined).map(
              (p) => p.PolicyDocument,
            )
          : [];
    for (const document of documents)
      for (const statement of statementsOf(document)) out.push({ ...located, statement });
  }
  return out;
}

/** Every statement of every KMS key policy. */
export function keyPolicyStatements(): LocatedStatement[] {
  return allResources('AWS::KMS::Key').flatMap((located) =>
    statementsOf(located.resource.Properties?.KeyPolicy).map((statement) => ({ ...located, statement })),
  );
}

/** The condition keys a statement tests, under any operator, lower-cased (IAM keys are case-insensitive). */
export function conditionKeys(statement: PolicyStatement): string[] {
  return Object.values(statement.Condition ?? {}).flatMap((byKey) =>
    Object.keys(byKey).map((k) => k.toLowerCase()),
  );
}
