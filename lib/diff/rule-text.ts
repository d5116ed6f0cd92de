import { constructPath, physicalName, subjectOf } from './physical-names';
import { RuleContext } from './types';

// Wording helpers shared by the rules: how a finding names things.

/** Inline code in a finding (backticks inside are replaced, so the markdown stays one span). */
export const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

/** A resource as findings name it: its physical name, else its construct path, else its logical id. */
export const subject = (ctx: RuleContext, id: string) =>
  subjectOf(id, ctx.newRes[id] ?? ctx.oldRes[id], ctx.newRes[id] ? ctx.after : ctx.before);

/** A resource's name without backticks (for headlines that quote it themselves). */
export const nameOf = (ctx: RuleContext, id: string) =>
  physicalName(ctx.newRes[id] ?? ctx.oldRes[id]) ?? constructPath(ctx.newRes[id] ?? ctx.oldRes[id]) ?? id;

/** DeletionPolicy values that keep the physical resource when it leaves the stack. */
export const RETAINED = new Set(['Retain', 'RetainExceptOnCreate']);
