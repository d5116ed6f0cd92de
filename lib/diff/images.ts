import { renderValue } from './template';

/**
 * A container image reference split into its parts. ECS accepts `repo:tag`, `repo@sha256:<digest>`
 * and `repo:tag@sha256:<digest>`; with both, the digest decides which bytes run and the tag is only
 * a label (Docker reference grammar, distribution/reference `reference.go`).
 */
export interface ImageRef {
  /** Everything before the tag or digest, intrinsics rendered (`${Repo}`, `${AWS::URLSuffix}`). */
  readonly repository: string;
  /** The tag, when the reference has one. */
  readonly tag?: string;
  /** `sha256:<hex>`, when the reference pins a digest. */
  readonly digest?: string;
}

/** Parses an image reference, which may be a CloudFormation intrinsic (the CDK joins ECR images). */
export function parseImageRef(image: unknown): ImageRef | undefined {
  if (image === undefined || image === null) return undefined;
  let text = renderValue(image);
  let digest: string | undefined;
  const at = text.lastIndexOf('@');
  if (at >= 0 && /^[a-z0-9]+:[0-9a-fA-F]+$/.test(text.slice(at + 1))) {
    digest = text.slice(at + 1);
    text = text.slice(0, at);
  }
  // A colon after the last slash is a tag; one before it belongs to a registry host:port.
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  const tag = colon > slash ? text.slice(colon + 1) : undefined;
  return { repository: tag === undefined ? text : text.slice(0, colon), tag, digest };
}

/** `v1.2.3`, `v1.2.3@sha256:0123456789ab…` or `sha256:0123456789ab…`; `latest` for a bare repository. */
export function describeImage(ref: ImageRef | undefined): string | undefined {
  if (!ref) return undefined;
  const digest = ref.digest && `${ref.digest.slice(0, 'sha256:'.length + 12)}…`;
  if (ref.tag && digest) return `${ref.tag}@${digest}`;
  return ref.tag ?? digest ?? 'latest';
}

/** What differs between two references of the same container, or undefined when they run the same image. */
export function imageChange(
  from: ImageRef | undefined,
  to: ImageRef | undefined,
): { from?: string; to?: string; repository?: string } | undefined {
  if (from && to) {
    // Same digest: the same bytes, whatever the tags say.
    if (from.digest && from.digest === to.digest && from.repository === to.repository) return undefined;
    if (!from.digest && !to.digest && from.tag === to.tag && from.repository === to.repository)
      return undefined;
  }
  const repository =
    from && to && from.repository !== to.repository ? `${from.repository} → ${to.repository}` : undefined;
  return { from: describeImage(from), to: describeImage(to), repository };
}
