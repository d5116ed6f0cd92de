import { CostKind, CostLine, Total, totalOf } from './estimate';
import type { EnvironmentEstimate } from './environment';
import { HOURS_PER_MONTH, READ_ON } from './prices';

/** `$1,234.56`; amounts under a cent show as `<$0.01` rather than a misleading `$0.00`. */
export function usd(amount: number): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  if (abs > 0 && abs < 0.005) return `${sign}<$0.01`;
  return `${sign}$${abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A total with its unknown part said plainly: `$12.34 + 2 lines of unknown price`. */
export function totalText(total: Total): string {
  if (total.unknownLines === 0) return usd(total.usd);
  return `${usd(total.usd)} + ${total.unknownLines} line${total.unknownLines === 1 ? '' : 's'} of unknown price`;
}

function priceText(line: CostLine): string {
  // Unit prices keep every digit the table has: $0.048/hour, not a rounded $0.05/hour.
  return line.unitUsd === 'unknown' ? 'unknown price' : `$${line.unitUsd}/${line.unit}`;
}

function lineAmount(line: CostLine): string {
  return line.monthlyUsd === undefined ? 'unknown' : usd(line.monthlyUsd);
}

/** Lines of every stack of an environment. */
export function linesOf(estimate: EnvironmentEstimate): CostLine[] {
  return estimate.stacks.flatMap((s) => s.lines);
}

function section(lines: readonly CostLine[], kind: CostKind, detailed: boolean): string[] {
  const out: string[] = [];
  const ofKind = lines.filter((l) => l.kind === kind);
  const services = [...new Set(ofKind.map((l) => l.service))]
    .map((service) => ({ service, lines: ofKind.filter((l) => l.service === service) }))
    .sort((a, b) => totalOf(b.lines).usd - totalOf(a.lines).usd);
  for (const { service, lines: serviceLines } of services) {
    out.push(`  ${service.padEnd(58)} ${totalText(totalOf(serviceLines))}`);
    if (!detailed) continue;
    const resources = [...new Set(serviceLines.map((l) => l.name))];
    for (const name of resources) {
      for (const line of serviceLines.filter((l) => l.name === name)) {
        out.push(
          `    ${name}: ${line.dimension}, ${line.basis} = ${fmtQuantity(line.quantity)} ${line.unit} × ${priceText(line)} = ${lineAmount(line)}`,
        );
      }
    }
  }
  return out;
}

function fmtQuantity(quantity: number): string {
  return Number.isInteger(quantity)
    ? quantity.toLocaleString('en-US')
    : quantity.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** The text `npm run cost` prints for one environment. */
export function renderEnvironment(estimate: EnvironmentEstimate, options: { detailed: boolean }): string {
  const lines = linesOf(estimate);
  const fixed = totalOf(lines, 'fixed');
  const usage = totalOf(lines, 'usage');
  const all = totalOf(lines);
  const region = estimate.stacks[0]?.region ?? '?';
  const file = `environments/${estimate.environment}.ts`;
  const out = [
    `${estimate.environment} (${region}, stacks ${estimate.stacks.map((s) => s.stackName).join(' + ')}): ${totalText(all)} a month`,
    '',
    `Fixed: from the templates and ${file} (${HOURS_PER_MONTH} h a month): ${totalText(fixed)}`,
    ...section(lines, 'fixed', options.detailed),
    '',
    `Usage-based: ASSUMPTIONS from cost.usage in ${file} (or environments/base.ts): ${totalText(usage)}`,
    ...section(lines, 'usage', options.detailed),
  ];
  const uncovered = estimate.stacks.flatMap((s) =>
    s.uncovered.map((u) => `${s.stackName}/${u.logicalId} (${u.type})`),
  );
  if (uncovered.length > 0) {
    out.push(
      '',
      `NOT PRICED (no entry in lib/cost/coverage.ts, so the total is too low): ${uncovered.join(', ')}`,
    );
  }
  const unknown = lines.filter((l) => l.monthlyUsd === undefined);
  if (unknown.length > 0) {
    const dimensions = [...new Set(unknown.map((l) => `${l.dimension} [${l.priceId}]`))];
    out.push(
      '',
      `Unknown prices (no sourced row in lib/cost/prices.ts; the real total is higher): ${dimensions.join('; ')}`,
    );
  }
  return out.join('\n');
}

/** The whole report: every environment, then the prices' date. */
export function renderReport(
  estimates: readonly EnvironmentEstimate[],
  options: { detailed: boolean },
): string {
  const head = `Monthly cost estimate, on-demand list prices in USD read ${READ_ON} (lib/cost/prices.ts); no free tier, tax or discounts.`;
  return [head, ...estimates.map((e) => `\n${'='.repeat(100)}\n${renderEnvironment(e, options)}`)].join('\n');
}
