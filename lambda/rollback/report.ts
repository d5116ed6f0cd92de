import { IMAGE_CONFIG_KEY } from './config';
import { ImageRef, RevisionInfo, RollbackReport, ServiceKey } from './types';

/** The container the pinned tag in `environments/` is about (the services' one container, `app`). */
function appImage(rev: RevisionInfo | undefined): ImageRef | undefined {
  return rev?.images.find((i) => i.container === 'app') ?? rev?.images[0];
}

/** `v1.2.3`, or the full image reference when the image is pinned by digest. */
export function tagOf(rev: RevisionInfo | undefined): string {
  const image = appImage(rev);
  return image?.tag ?? image?.image ?? '?';
}

/**
 * How `environments/` pins the image a revision runs: by digest when the task definition pulls
 * `repository@sha256:…` (the environment sets `imageDigest`), else by tag.
 */
function pinOf(rev: RevisionInfo | undefined): { field: 'imageDigest' | 'imageTag'; value: string } {
  const image = appImage(rev);
  const at = image?.image.indexOf('@') ?? -1;
  if (image && at !== -1) return { field: 'imageDigest', value: image.image.slice(at + 1) };
  return { field: 'imageTag', value: tagOf(rev) };
}

/**
 * The drift rule: a rollback outside CloudFormation leaves the template (and `environments/`) on the
 * other tag, so the next deploy undoes it unless the pinned tag is set to what now runs.
 */
export function driftNote(
  environmentName: string,
  service: ServiceKey,
  from: RevisionInfo,
  to: RevisionInfo,
  kind: 'update-service' | 'stop-deployment',
): string {
  const key = IMAGE_CONFIG_KEY[service];
  const file = `environments/${environmentName}.ts`;
  const fromTag = tagOf(from);
  const toTag = tagOf(to);
  if (fromTag === toTag)
    return (
      `Drift: the image tag is the same (${toTag}); the change reverts other settings of the task ` +
      `definition (${from.label} -> ${to.label}). Revert that change in git before the next cdk deploy, ` +
      `or it puts ${from.label}'s settings back.`
    );
  const pin = pinOf(to);
  const was = pinOf(from);
  const fix =
    pin.field === 'imageDigest'
      ? `set ${key}.imageDigest = '${pin.value}' (and ${key}.imageTag to the tag that digest was released as) in ${file} ` +
        `(it says '${was.value}') and open a pull request`
      : `set ${key}.imageTag = '${pin.value}' in ${file} (it says '${was.value}') and open a pull request`;
  if (kind === 'stop-deployment')
    return (
      `Drift: if the stopped deployment came from cdk deploy, CloudFormation fails that update and rolls ` +
      `the stack back itself. Otherwise ${fix}, or the next cdk deploy brings ${fromTag} back.`
    );
  return `Drift: ${service} now runs ${toTag} outside CloudFormation. To keep it, ${fix}; otherwise the next cdk deploy brings ${fromTag} back.`;
}

function revisionLine(rev: RevisionInfo): string {
  return `${rev.label} (${rev.images.map((i) => `${i.container}=${i.tag ?? i.image}`).join(', ')})`;
}

/** The report as lines of text, for the notification and the ops command. */
export function formatReport(report: RollbackReport): string[] {
  const lines = [
    `${report.dryRun ? 'DRY RUN: ' : ''}${report.summary}`,
    `Outcome: ${report.outcome}${report.why ? ` (${report.why})` : ''}`,
    `Environment: ${report.environment}, cluster ${report.cluster}, service ${report.service}`,
    `Triggered by: ${report.trigger} (requested by ${report.requestedBy})`,
  ];
  if (report.reason) lines.push(`Reason: ${report.reason}`);
  for (const note of report.history) lines.push(`History: ${note}`);
  if (report.from) lines.push(`From: ${revisionLine(report.from)}`);
  if (report.to) lines.push(`To:   ${revisionLine(report.to)}`);
  if (report.targetInactive && !report.reregisteredAs)
    lines.push(`${report.to?.label} is INACTIVE: it would be registered again as a new revision first.`);
  if (report.reregisteredAs)
    lines.push(`${report.to?.label} was INACTIVE: registered again as ${report.reregisteredAs}.`);
  if (report.stoppedDeployment) lines.push(`Deployment: ${report.stoppedDeployment}`);
  if (report.moved)
    lines.push(
      `${report.service} now runs ${report.nowRuns ?? 'the target'} (this run changed the service).`,
    );
  for (const warning of report.warnings) lines.push(`Warning: ${warning}`);
  if (report.notificationError)
    lines.push(
      `The notification to the on-call topic FAILED (${report.notificationError}): the rollback itself is as reported above; tell the on-call channel yourself.`,
    );
  if (report.driftNote && (report.moved || report.outcome === 'planned')) lines.push(report.driftNote);
  return lines;
}

/** What each outcome's subject says, so a subject alone tells what happened. */
function subjectText(report: RollbackReport): string {
  const from = tagOf(report.from);
  const to = tagOf(report.to);
  const verb = report.direction === 'forward' ? 'rolled FORWARD' : 'rolled back';
  switch (report.outcome) {
    case 'rolled-back':
      return `${report.service} ${verb} ${from} -> ${to}`;
    case 'rolled-back-unstable':
      return `${report.service} ${verb} ${from} -> ${to}, NOT stable yet`;
    case 'rollback-failed':
      return `${report.service} rollback FAILED, runs ${report.nowRuns ?? '?'}`;
    case 'nothing-to-do':
      return `${report.service} rollback: nothing to do (${report.why})`;
    default:
      return `${report.service} rollback planned ${from} -> ${to}`;
  }
}

/** SNS subjects must be ASCII, one line, at most 100 characters. */
export function notificationSubject(report: RollbackReport): string {
  return `[clever-better ${report.environment}] ${subjectText(report)}`
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100);
}
