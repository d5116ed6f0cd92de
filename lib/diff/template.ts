/**
 * Plain helpers over synthesized CloudFormation templates (JSON objects). No CDK constructs here:
 * the diff tooling must read templates of any commit, including ones this code has never seen.
 */

/** One resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly [key: string]: unknown;
}

/** A synthesized CloudFormation template. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly [key: string]: unknown;
}

/** The resources of a template (none for an empty or missing template). */
export function resourcesOf(template: CfnTemplate | undefined): Record<string, CfnResource> {
  return template?.Resources ?? {};
}

/**
 * The template without what changes on every CDK upgrade and means nothing to the deployment
 * (`CDKMetadata` records the library version; it is not a real resource).
 */
export function withoutNoise(template: CfnTemplate | undefined): CfnTemplate {
  if (!template) return {};
  const { CDKMetadata: _metadata, ...resources } = resourcesOf(template);
  return { ...template, Resources: resources };
}

/** Logical ids a value refers to through `Ref`, `Fn::GetAtt` or `${Id}` / `${Id.Attr}` in `Fn::Sub`. */
export function referencedIds(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedIds(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(inner) ? inner[0] : typeof inner === 'string' ? inner.split('.')[0] : '';
        if (typeof target === 'string' && target) into.add(target);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        // Names defined in the variable map are not logical ids.
        const local = Array.isArray(inner) && inner[1] && typeof inner[1] === 'object' ? inner[1] : {};
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}/g))
            if (!(m[1] in local)) into.add(m[1]);
        }
        if (Array.isArray(inner)) referencedIds(inner[1], into);
      } else referencedIds(inner, into);
    }
  }
  return into;
}

/** Whether `value` refers to any of `ids`. */
export function refersToAny(value: unknown, ids: ReadonlySet<string>): boolean {
  for (const id of referencedIds(value)) if (ids.has(id)) return true;
  return false;
}

/**
 * A readable string for a value that may hold intrinsics: `Fn::Join` is concatenated, `Ref` becomes
 * `${Id}`, `Fn::GetAtt` `${Id.Attr}`, anything else opaque `${…}`.
 */
export function renderValue(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, inner] = entries[0];
    if (key === 'Ref') return `\${${String(inner)}}`;
    if (key === 'Fn::GetAtt') return `\${${Array.isArray(inner) ? inner.join('.') : String(inner)}}`;
    if (key === 'Fn::Join' && Array.isArray(inner) && Array.isArray(inner[1])) {
      return (inner[1] as unknown[]).map(renderValue).join(String(inner[0]));
    }
    if (key === 'Fn::Sub') return String(Array.isArray(inner) ? inner[0] : inner);
    if (key.startsWith('Fn::')) return '${…}';
  }
  return JSON.stringify(value);
}

/**
 * The tag (or `sha256:` digest) of a container image reference such as
 * `123.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot:v1.2.3`; `latest` when the reference has
 * neither (that is what a registry serves then).
 */
export function imageTag(image: unknown): string | undefined {
  if (image === undefined) return undefined;
  const text = renderValue(image);
  const at = text.lastIndexOf('@');
  if (at >= 0 && text.slice(at + 1).startsWith('sha256:')) return text.slice(at + 1);
  const lastSegment = text.slice(text.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon >= 0 ? lastSegment.slice(colon + 1) : 'latest';
}

/** Short, single-line rendering of any value for a summary line. */
export function brief(value: unknown, max = 80): string {
  const text = renderValue(value).replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A value as a list (CloudFormation allows one item or a list in many places). */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
