import type { RegisterTaskDefinitionCommandInput, TaskDefinition } from '@aws-sdk/client-ecs';
import { ImageRef, RevisionInfo } from './types';

/**
 * The fields of a described task definition that RegisterTaskDefinition accepts. Everything else
 * (ARN, revision, status, registeredAt/By, requiresAttributes, compatibilities, …) is read-only.
 * Tags are not copied: they would need ecs:TagResource, and the services propagate their own tags.
 */
export const REGISTRABLE_FIELDS = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies readonly (keyof RegisterTaskDefinitionCommandInput & keyof TaskDefinition)[];

/** The RegisterTaskDefinition input that recreates `td` as a new revision of its family. */
export function registrableInput(td: TaskDefinition): RegisterTaskDefinitionCommandInput {
  const input: Record<string, unknown> = {};
  for (const field of REGISTRABLE_FIELDS) {
    const value = td[field];
    if (value !== undefined && value !== null) input[field] = value;
  }
  return input as unknown as RegisterTaskDefinitionCommandInput;
}

/** JSON with sorted keys, so two equal structures serialize identically. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether two task definitions would run the same thing: equal registrable content, whatever their
 * revision numbers (a re-registered copy equals its original).
 */
export function sameDefinition(a: TaskDefinition, b: TaskDefinition): boolean {
  if (a.taskDefinitionArn && a.taskDefinitionArn === b.taskDefinitionArn) return true;
  return canonical(registrableInput(a)) === canonical(registrableInput(b));
}

/** Splits `registry/repo:tag` into its tag; a digest reference (`repo@sha256:…`) has none. */
export function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon === -1 ? 'latest' : lastSegment.slice(colon + 1);
}

export function images(td: TaskDefinition): ImageRef[] {
  return (td.containerDefinitions ?? []).map((c) => ({
    container: c.name ?? '?',
    image: c.image ?? '?',
    tag: c.image ? imageTag(c.image) : undefined,
  }));
}

/** `family:revision` from a task-definition ARN (or the input itself when it is not an ARN). */
export function label(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

export function revisionInfo(td: TaskDefinition): RevisionInfo {
  const arn = td.taskDefinitionArn ?? `${td.family}:${td.revision}`;
  return { taskDefinitionArn: arn, label: label(arn), images: images(td) };
}
