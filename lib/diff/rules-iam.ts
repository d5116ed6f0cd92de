import { IamWidening } from './iam';
import { subjectOf } from './physical-names';
import { code } from './rule-text';
import { FindingDraft, RuleContext, SecurityGroupWidening } from './types';

// Rules about access: new IAM grants and new security-group rules.

function iamLine(ctx: RuleContext, w: IamWidening): string {
  const principal = w.principal.replace(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g, (m, id: string) =>
    ctx.newRes[id] ? subjectOf(id, ctx.newRes[id]).replace(/`/g, '') : m,
  );
  const on = w.resources.length ? ` on ${w.resources.map(code).join(', ')}` : '';
  const condition = w.condition ? ` when ${code(w.condition.replace(/\s+/g, ' '))}` : '';
  return `${code(principal)} may now ${w.actions.map(code).join(', ')}${on}${condition}`;
}

export function iamWildcard(ctx: RuleContext): FindingDraft[] {
  return ctx.iamWidening
    .filter((w) => w.wildcard)
    .map((w) => ({
      resources: [],
      message: `**IAM widening (wildcard)**: ${iamLine(ctx, w)}`,
      headline: `wildcard IAM grant: ${w.actions.join(', ')}`,
    }));
}

export function iamWidened(ctx: RuleContext): FindingDraft[] {
  return ctx.iamWidening
    .filter((w) => !w.wildcard)
    .map((w) => ({
      resources: [],
      message: `IAM widening: ${iamLine(ctx, w)}`,
      headline: `IAM widening: ${w.actions.join(', ')}`,
    }));
}

function sgLine(g: SecurityGroupWidening): string {
  return `new ${g.direction} ${g.protocol} ${g.direction === 'ingress' ? 'from' : 'to'} ${g.world ? `**${g.peer}**` : code(g.peer)} on ${code(g.group)}`;
}

export function sgWorldOpen(ctx: RuleContext): FindingDraft[] {
  // Ingress from the internet is the sg-world-ingress protection's (it blocks in production).
  return ctx.securityGroupWidening
    .filter((g) => g.world && g.direction === 'egress')
    .map((g) => ({
      resources: [],
      message: `**Security group open to the internet**: ${sgLine(g)}`,
      headline: `security group open to the internet (${g.protocol})`,
    }));
}

export function sgWidened(ctx: RuleContext): FindingDraft[] {
  return ctx.securityGroupWidening
    .filter((g) => !g.world)
    .map((g) => ({
      resources: [],
      message: `Security group widening: ${sgLine(g)}`,
      headline: 'security group widening',
    }));
}
