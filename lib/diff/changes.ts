import {
  PropertyDifference,
  ResourceDifference,
  ResourceImpact,
  TemplateDiff,
} from '@aws-cdk/cloudformation-diff';
import { iamWidening, rightsOf } from './iam';
import { imageChange, ImageRef, parseImageRef } from './images';
import { alarmsInvoking, EmergencyStopPart, identifySubjects, SubjectNames } from './subjects';
import { brief, CfnResource, CfnTemplate, jsonEqual, resourcesOf } from './template';
import {
  CountChange,
  EmergencyStopChange,
  LiveTradingChange,
  ResourceRemoval,
  SecurityGroupWidening,
  StackChanges,
  STATEFUL_TYPES,
  StatefulUpdate,
  TaskDefinitionChange,
} from './types';

// Classifies the differences of one stack's template pair into what the rules read (StackChanges).

type Changed = readonly (readonly [logicalId: string, change: ResourceDifference])[];

/**
 * The changed resources in the order `forEachDifference` visits them (removed, added, updated,
 * other), from one pass: `forEachDifference` recomputes the collection's changes for each changed
 * resource, so a change to every resource (a stack-wide tag, a VPC CIDR) took quadratic time.
 */
function resourceChanges(diff: TemplateDiff): Changed {
  const [removed, added, updated, other]: [string, ResourceDifference][][] = [[], [], [], []];
  for (const [logicalId, change] of Object.entries(diff.resources.changes)) {
    if (change.isAddition) added.push([logicalId, change]);
    else if (change.isRemoval) removed.push([logicalId, change]);
    else if (change.isUpdate) updated.push([logicalId, change]);
    else if (change.isDifferent) other.push([logicalId, change]);
  }
  return [...removed, ...added, ...updated, ...other];
}

/**
 * Resources whose only change is their `Tags` (in place), with the tag keys that changed. A
 * stack-wide tag touches every taggable resource; the summary says so in one line.
 */
function tagOnlyChanges(changed: Changed): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [logicalId, change] of changed) {
    if (!change.isUpdate) continue;
    // A tag change that replaces a stateful resource is not "only tags": the rules report it.
    const replaces = [ResourceImpact.WILL_REPLACE, ResourceImpact.MAY_REPLACE].includes(change.changeImpact);
    if (replaces && STATEFUL_TYPES.has(change.newResourceType ?? '')) continue;
    const props = Object.keys(change.propertyUpdates);
    if (props.length !== 1 || props[0] !== 'Tags' || Object.keys(change.otherChanges).length > 0) continue;
    const d = change.propertyUpdates.Tags;
    const entries = (v: unknown) =>
      new Map(
        (Array.isArray(v) ? v : Object.entries(v ?? {}).map(([Key, Value]) => ({ Key, Value }))).map(
          (t: { Key?: unknown; Value?: unknown }) => [String(t.Key), JSON.stringify(t.Value)] as const,
        ),
      );
    const [a, b] = [entries(d.oldValue), entries(d.newValue)];
    out.set(
      logicalId,
      [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)),
    );
  }
  return out;
}

function removalFate(impact: ResourceRemoval['impact'], resource: CfnResource | undefined): string {
  if (impact === 'orphan') {
    return `kept outside the stack (DeletionPolicy ${resource?.DeletionPolicy ?? 'Retain'}): no longer managed`;
  }
  if (impact === 'destroy') {
    const policy = resource?.DeletionPolicy ?? 'Delete';
    return policy === 'Snapshot' ? 'deleted after a final snapshot' : `deleted (DeletionPolicy ${policy})`;
  }
  const policy = resource?.UpdateReplacePolicy ?? 'Delete';
  const old =
    policy === 'Retain' || policy === 'RetainExceptOnCreate'
      ? 'the old one is kept outside the stack'
      : policy === 'Snapshot'
        ? 'the old one is snapshotted, then deleted'
        : 'the old one is deleted';
  return `a new physical resource is created and ${old}`;
}

function resourceRemovals(changed: Changed, before: CfnTemplate): ResourceRemoval[] {
  const out: ResourceRemoval[] = [];
  const old = resourcesOf(before);
  for (const [logicalId, change] of changed) {
    const impact = change.resourceTypeChanged ? ResourceImpact.WILL_REPLACE : change.changeImpact;
    const kind =
      impact === ResourceImpact.WILL_REPLACE
        ? 'replace'
        : impact === ResourceImpact.MAY_REPLACE
          ? 'may-replace'
          : impact === ResourceImpact.WILL_DESTROY
            ? 'destroy'
            : impact === ResourceImpact.WILL_ORPHAN
              ? 'orphan'
              : undefined;
    if (!kind) continue;
    const type = change.oldResourceType ?? change.newResourceType ?? 'unknown';
    const causes = Object.entries(change.propertyUpdates)
      .filter(
        ([, d]) =>
          d.changeImpact === ResourceImpact.WILL_REPLACE || d.changeImpact === ResourceImpact.MAY_REPLACE,
      )
      .map(([name]) => name);
    if (change.resourceTypeChanged) causes.push(`Type ${change.oldResourceType} → ${change.newResourceType}`);
    out.push({
      logicalId,
      type,
      stateful: STATEFUL_TYPES.has(type),
      impact: kind,
      causes,
      fate: removalFate(kind, old[logicalId]),
    });
  }
  // Stateful first: they are what a reviewer must not miss.
  return out.sort((a, b) => Number(b.stateful) - Number(a.stateful));
}

const isScalar = (v: unknown) => v === undefined || v === null || typeof v !== 'object';

function describePropertyChange(name: string, d: PropertyDifference<unknown>): string {
  const replaces = d.changeImpact === ResourceImpact.WILL_REPLACE ? ' (requires replacement)' : '';
  if (name === 'Code') return `Code: new bundle${replaces}`;
  if (d.oldValue === undefined) return `${name}: set to ${brief(d.newValue)}${replaces}`;
  if (d.newValue === undefined) return `${name}: removed (was ${brief(d.oldValue)})${replaces}`;
  if (isScalar(d.oldValue) && isScalar(d.newValue)) {
    return `${name}: ${brief(d.oldValue)} → ${brief(d.newValue)}${replaces}`;
  }
  return `${name} changed${replaces}`;
}

export function describeResourceChange(change: ResourceDifference | undefined): string[] {
  if (!change) return [];
  return Object.entries(change.propertyUpdates).map(([name, d]) => describePropertyChange(name, d));
}

function statefulUpdates(changed: Changed): StatefulUpdate[] {
  const out: StatefulUpdate[] = [];
  for (const [logicalId, change] of changed) {
    const type = change.newResourceType ?? '';
    if (change.isUpdate && change.changeImpact === ResourceImpact.WILL_UPDATE && STATEFUL_TYPES.has(type)) {
      out.push({ logicalId, type, details: describeResourceChange(change) });
    }
  }
  return out;
}

/** CidrBlock of every VPC in a template. */
function vpcCidrs(template: CfnTemplate): Set<string> {
  return new Set(
    Object.values(resourcesOf(template))
      .filter((r) => r.Type === 'AWS::EC2::VPC' && typeof r.Properties?.CidrBlock === 'string')
      .map((r) => String(r.Properties!.CidrBlock)),
  );
}

/**
 * New security-group rules. A rule that only follows a VPC CIDR change (same group, protocol and
 * ports; the old peer was the old VPC CIDR, the new peer is the new VPC CIDR) is a move, not a
 * widening: the VPC itself is reported as replaced.
 */
function securityGroupWidening(
  diff: TemplateDiff,
  before: CfnTemplate,
  after: CfnTemplate,
): SecurityGroupWidening[] {
  const { ingress, egress } = diff.securityGroupChanges;
  const [oldCidrs, newCidrs] = [vpcCidrs(before), vpcCidrs(after)];
  const cidr = (rule: { peer?: { kind: string; ip?: string } }) =>
    rule.peer?.kind === 'cidr-ip' ? rule.peer.ip : undefined;
  type Rule = (typeof ingress.additions)[number];
  const movedWithVpc = (rule: Rule, removals: readonly Rule[]) => {
    const ip = cidr(rule);
    if (!ip || !newCidrs.has(ip) || oldCidrs.has(ip)) return false;
    return removals.some(
      (old) =>
        old.groupId === rule.groupId &&
        old.ipProtocol === rule.ipProtocol &&
        old.fromPort === rule.fromPort &&
        old.toPort === rule.toPort &&
        oldCidrs.has(cidr(old) ?? '') &&
        !newCidrs.has(cidr(old) ?? ''),
    );
  };
  const rules = [
    ...ingress.additions
      .filter((rule) => !movedWithVpc(rule, ingress.removals))
      .map((rule) => ({ rule, direction: 'ingress' as const })),
    ...egress.additions
      .filter((rule) => !movedWithVpc(rule, egress.removals))
      .map((rule) => ({ rule, direction: 'egress' as const })),
  ];
  return rules.map(({ rule, direction }) => {
    const ip = cidr(rule);
    return {
      direction,
      group: rule.groupId,
      protocol: rule.describeProtocol(),
      peer: rule.describePeer(),
      world: ip === '0.0.0.0/0' || ip === '::/0',
    };
  });
}

export function first(
  resources: Record<string, CfnResource>,
  ids: ReadonlySet<string>,
): [string, CfnResource] | undefined {
  const id = [...ids].sort()[0];
  return id === undefined ? undefined : [id, resources[id]];
}

type Container = Record<string, unknown>;

function containersByName(td: CfnResource | undefined): Map<string, Container> {
  const list = (td?.Properties?.ContainerDefinitions ?? []) as Container[];
  return new Map(list.map((c, i) => [String(c.Name ?? `#${i}`), c]));
}

/** Names of `{Name, Value|ValueFrom}` list entries that differ. */
function changedNames(a: unknown, b: unknown): string[] {
  const toMap = (list: unknown) =>
    new Map(((list ?? []) as Container[]).map((e) => [String(e.Name), e.Value ?? e.ValueFrom]));
  const [ma, mb] = [toMap(a), toMap(b)];
  return [...new Set([...ma.keys(), ...mb.keys()])].filter(
    (n) => !ma.has(n) || !mb.has(n) || !jsonEqual(ma.get(n), mb.get(n)),
  );
}

/**
 * Docker label that carries the readable tag beside a digest-pinned image (lib/services.ts): the
 * image reference itself is then `repo@sha256:…`, and the label is how the summary knows the tag.
 */
export const IMAGE_TAG_LABEL = 'org.opencontainers.image.version';

/** A container's image reference, with the tag from its label when the reference has none. */
function imageOf(container: Container): ImageRef | undefined {
  const ref = parseImageRef(container.Image);
  const label = (container.DockerLabels as Record<string, unknown> | undefined)?.[IMAGE_TAG_LABEL];
  return ref && !ref.tag && typeof label === 'string' ? { ...ref, tag: label } : ref;
}

/** Whether two label maps differ only in the image-tag label (already shown with the image). */
function onlyTagLabelDiffers(a: unknown, b: unknown): boolean {
  const strip = (v: unknown) => {
    const { [IMAGE_TAG_LABEL]: _tag, ...rest } = (v ?? {}) as Record<string, unknown>;
    return rest;
  };
  return jsonEqual(strip(a), strip(b));
}

function compareTaskDefinitions(
  before: CfnResource | undefined,
  after: CfnResource | undefined,
): Pick<TaskDefinitionChange, 'imageTags' | 'details'> {
  const imageTags: { container: string; from?: string; to?: string; repository?: string }[] = [];
  const details: string[] = [];
  const [oldContainers, newContainers] = [containersByName(before), containersByName(after)];
  for (const name of new Set([...oldContainers.keys(), ...newContainers.keys()])) {
    const [a, b] = [oldContainers.get(name), newContainers.get(name)];
    if (!a || !b) {
      details.push(`container ${name} ${a ? 'removed' : 'added'}`);
      if (b) imageTags.push({ container: name, ...imageChange(undefined, imageOf(b)) });
      continue;
    }
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (jsonEqual(a[key], b[key])) continue;
      if (key === 'DockerLabels' && onlyTagLabelDiffers(a[key], b[key])) {
        if (jsonEqual(a.Image, b.Image)) {
          details.push(
            `container ${name}: image tag label ${brief(imageOf(a)?.tag)} → ${brief(imageOf(b)?.tag)}`,
          );
        }
        continue;
      }
      if (key === 'Image') {
        const change = imageChange(imageOf(a), imageOf(b));
        if (change) imageTags.push({ container: name, ...change });
      } else if (key === 'Environment' || key === 'Secrets') {
        details.push(`container ${name}: ${key} ${changedNames(a[key], b[key]).join(', ')}`);
      } else if (isScalar(a[key]) && isScalar(b[key])) {
        details.push(`container ${name}: ${key} ${brief(a[key])} → ${brief(b[key])}`);
      } else details.push(`container ${name}: ${key} changed`);
    }
  }
  const [pa, pb] = [before?.Properties ?? {}, after?.Properties ?? {}];
  for (const key of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    if (key === 'ContainerDefinitions' || jsonEqual(pa[key], pb[key])) continue;
    details.push(
      isScalar(pa[key]) && isScalar(pb[key])
        ? `${key}: ${brief(pa[key])} → ${brief(pb[key])}`
        : `${key} changed`,
    );
  }
  return { imageTags, details };
}

/** Compared by family (not logical id), so a renamed construct still shows the tag it moves from. */
function taskDefinitionChanges(
  diff: TemplateDiff,
  before: CfnTemplate,
  after: CfnTemplate,
  names: SubjectNames,
): TaskDefinitionChange[] {
  const [oldSubjects, newSubjects] = [identifySubjects(before, names), identifySubjects(after, names)];
  const [oldRes, newRes] = [resourcesOf(before), resourcesOf(after)];
  const out: TaskDefinitionChange[] = [];
  const services = [
    ['bot', oldSubjects.botTaskDefinitions, newSubjects.botTaskDefinitions],
    ['ml-service', oldSubjects.mlTaskDefinitions, newSubjects.mlTaskDefinitions],
  ] as const;
  for (const [service, oldIds, newIds] of services) {
    const [a, b] = [first(oldRes, oldIds), first(newRes, newIds)];
    if (!a && !b) continue;
    const logicalId = (b ?? a)![0];
    const change = !a ? 'added' : !b ? 'removed' : 'updated';
    const compared = compareTaskDefinitions(a?.[1], b?.[1]);
    const details = [...compared.details];
    const impact = diff.resources.has(logicalId) ? diff.resources.get(logicalId).changeImpact : undefined;
    if (change === 'updated' && compared.imageTags.length === 0 && details.length === 0) {
      if (impact !== ResourceImpact.WILL_REPLACE) continue;
      details.push('replaced because a resource it refers to is replaced');
    }
    out.push({ service, logicalId, change, imageTags: compared.imageTags, details });
  }
  return out;
}

function liveTradingFlag(secret: CfnResource | undefined): unknown {
  const text = secret?.Properties?.SecretString;
  if (typeof text !== 'string') return undefined;
  try {
    return (JSON.parse(text) as Record<string, unknown>).live_trading_enabled;
  } catch {
    return undefined;
  }
}

function liveTradingChanges(
  before: CfnTemplate,
  after: CfnTemplate,
  names: SubjectNames,
): LiveTradingChange[] {
  const byName = (template: CfnTemplate) => {
    const resources = resourcesOf(template);
    return new Map(
      [...identifySubjects(template, names).configSecrets].map((id) => [
        String(resources[id].Properties?.Name ?? id),
        { id, resource: resources[id] },
      ]),
    );
  };
  const [oldSecrets, newSecrets] = [byName(before), byName(after)];
  const out: LiveTradingChange[] = [];
  for (const secretName of new Set([...oldSecrets.keys(), ...newSecrets.keys()])) {
    const [a, b] = [oldSecrets.get(secretName), newSecrets.get(secretName)];
    if (a && b && jsonEqual(a.resource.Properties?.SecretString, b.resource.Properties?.SecretString))
      continue;
    out.push({
      logicalId: (b ?? a)!.id,
      secretName,
      change: !a ? 'added' : !b ? 'removed' : 'updated',
      from: liveTradingFlag(a?.resource),
      to: liveTradingFlag(b?.resource),
    });
  }
  return out;
}

const BOT_COUNT_WARNING =
  "the bot's template must not set DesiredCount: CloudFormation then resets the running count on every deploy, " +
  'undoing an emergency scale-to-zero';
const ML_COUNT_WARNING =
  'autoscaling owns the ML task count; a DesiredCount in the template resets it on every deploy';

function countChanges(before: CfnTemplate, after: CfnTemplate, names: SubjectNames): CountChange[] {
  const [os, ns] = [identifySubjects(before, names), identifySubjects(after, names)];
  const [oldRes, newRes] = [resourcesOf(before), resourcesOf(after)];
  const out: CountChange[] = [];
  const compare = (
    service: CountChange['service'],
    a: [string, CfnResource] | undefined,
    b: [string, CfnResource] | undefined,
    property: string,
    read: (r: CfnResource) => unknown,
    warning?: (from: unknown, to: unknown) => string | undefined,
  ) => {
    if (!a && !b) return;
    const [from, to] = [a ? read(a[1]) : undefined, b ? read(b[1]) : undefined];
    if (jsonEqual(from, to)) return;
    out.push({ service, logicalId: (b ?? a)![0], property, from, to, warning: warning?.(from, to) });
  };
  const desired = (r: CfnResource) => r.Properties?.DesiredCount;
  compare(
    'bot',
    first(oldRes, os.botServices),
    first(newRes, ns.botServices),
    'DesiredCount',
    desired,
    (_, to) => (to !== undefined ? BOT_COUNT_WARNING : undefined),
  );
  compare(
    'ml-service',
    first(oldRes, os.mlServices),
    first(newRes, ns.mlServices),
    'DesiredCount',
    desired,
    (_, to) => (to !== undefined ? ML_COUNT_WARNING : undefined),
  );
  const ofType = (resources: Record<string, CfnResource>, set: ReadonlySet<string>, type: string) =>
    first(resources, new Set([...set].filter((id) => resources[id].Type === type)));
  const target = 'AWS::ApplicationAutoScaling::ScalableTarget';
  const policy = 'AWS::ApplicationAutoScaling::ScalingPolicy';
  for (const property of ['MinCapacity', 'MaxCapacity']) {
    compare(
      'ml-service',
      ofType(oldRes, os.mlScaling, target),
      ofType(newRes, ns.mlScaling, target),
      property,
      (r) => r.Properties?.[property],
    );
  }
  compare(
    'ml-service',
    ofType(oldRes, os.mlScaling, policy),
    ofType(newRes, ns.mlScaling, policy),
    'TargetValue',
    (r) =>
      (r.Properties?.TargetTrackingScalingPolicyConfiguration as Record<string, unknown> | undefined)
        ?.TargetValue,
  );
  return out;
}

function emergencyStopChanges(
  diff: TemplateDiff,
  before: CfnTemplate,
  after: CfnTemplate,
  names: SubjectNames,
): EmergencyStopChange[] {
  const [oldParts, newParts] = [
    identifySubjects(before, names).emergencyStop,
    identifySubjects(after, names).emergencyStop,
  ];
  const [oldRes, newRes] = [resourcesOf(before), resourcesOf(after)];
  const functionsOf = (parts: Map<string, EmergencyStopPart>, resources: Record<string, CfnResource>) =>
    new Set(
      [...parts]
        .filter(([id, part]) => part === 'function' || resources[id]?.Type.startsWith('AWS::Lambda::'))
        .map(([id]) => id),
    );
  const [oldTriggers, newTriggers] = [
    alarmsInvoking(oldRes, functionsOf(oldParts, oldRes)),
    alarmsInvoking(newRes, functionsOf(newParts, newRes)),
  ];
  const out: EmergencyStopChange[] = [];
  for (const id of new Set([...oldParts.keys(), ...newParts.keys()])) {
    const part = newParts.get(id) ?? oldParts.get(id)!;
    if (part === 'policy') continue; // reported as the rights of the role it is attached to
    const resource = newRes[id] ?? oldRes[id];
    const change: EmergencyStopChange['change'] = !oldRes[id] ? 'added' : !newRes[id] ? 'removed' : 'updated';
    const resourceDiff = diff.resources.has(id) ? diff.resources.get(id) : undefined;
    const details = change === 'updated' ? describeResourceChange(resourceDiff) : [];
    if (part === 'role') {
      const [had, has] = [rightsOf(oldRes, id), rightsOf(newRes, id)];
      const gains = [...has].filter((r) => !had.has(r));
      const losses = [...had].filter((r) => !has.has(r));
      if (gains.length) details.push(`gains: ${gains.join('; ')}`);
      if (losses.length) details.push(`loses: ${losses.join('; ')}`);
    }
    if (part === 'alarm') {
      if (oldTriggers.has(id) && !newTriggers.has(id)) details.push('no longer invokes the emergency stop');
      if (!oldTriggers.has(id) && newTriggers.has(id)) details.push('now invokes the emergency stop');
    }
    if (change === 'updated' && details.length === 0) continue;
    out.push({ logicalId: id, type: resource.Type, part, change, details });
  }
  return out;
}

/** The classified changes of one stack, and the resources whose only change is their tags. */
export function classifyChanges(
  diff: TemplateDiff,
  before: CfnTemplate,
  after: CfnTemplate,
  names: SubjectNames,
): { changes: StackChanges; tagOnly: Map<string, string[]> } {
  const changed = resourceChanges(diff);
  const tagOnly = tagOnlyChanges(changed);
  const changes: StackChanges = {
    removals: resourceRemovals(changed, before),
    statefulUpdates: statefulUpdates(changed).filter((u) => !tagOnly.has(u.logicalId)),
    iamWidening: iamWidening(diff),
    securityGroupWidening: securityGroupWidening(diff, before, after),
    taskDefinitions: taskDefinitionChanges(diff, before, after, names).filter(
      (t) => !tagOnly.has(t.logicalId),
    ),
    liveTrading: liveTradingChanges(before, after, names),
    counts: countChanges(before, after, names),
    // A tag change that replaces (task definitions) is said in the tags line.
    emergencyStop: emergencyStopChanges(diff, before, after, names).filter((e) => !tagOnly.has(e.logicalId)),
  };
  return { changes, tagOnly };
}
