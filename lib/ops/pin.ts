import * as ts from 'typescript';

/** The environment file parsed, and the overrides object of its `defineEnvironment(base, { … })`. */
function parseOverrides(source: string): { file: ts.SourceFile; overrides: ts.ObjectLiteralExpression } {
  const file = ts.createSourceFile('env.ts', source, ts.ScriptTarget.Latest, true);
  let overrides: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (
      !overrides &&
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'defineEnvironment'
    ) {
      const arg = node.arguments[1];
      if (arg && ts.isObjectLiteralExpression(arg)) overrides = arg;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (!overrides) throw new Error('no defineEnvironment(base, { … }) call found: edit the file by hand');
  return { file, overrides };
}

/** The property `name` written directly in `obj` (identifier or string key), if any. */
function propertyOf(obj: ts.ObjectLiteralExpression, name: string): ts.PropertyAssignment | undefined {
  return obj.properties.find(
    (p): p is ts.PropertyAssignment =>
      ts.isPropertyAssignment(p) &&
      (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) &&
      p.name.text === name,
  );
}

/**
 * Rewrites `environments/<env>.ts` so `key` (`bot` or `ml`) pins `imageTag` and `imageDigest`,
 * touching nothing else: the two properties are replaced where they are written, or added to the
 * service's override object (created when the file has none). Parses the file rather than matching
 * text, so formatting and comments elsewhere survive.
 */
export function pinImage(source: string, key: 'bot' | 'ml', tag: string, digest: string): string {
  const { file, overrides } = parseOverrides(source);
  const edits: { start: number; end: number; text: string }[] = [];
  const service = propertyOf(overrides, key);
  const pins = `imageTag: '${tag}', imageDigest: '${digest}'`;
  if (!service) {
    const last = overrides.properties[overrides.properties.length - 1];
    edits.push({ start: last.end, end: last.end, text: `,\n  ${key}: { ${pins} }` });
  } else if (!ts.isObjectLiteralExpression(service.initializer)) {
    throw new Error(`${key} is not an object literal: edit the file by hand`);
  } else {
    const obj = service.initializer;
    const missing: string[] = [];
    for (const [name, value] of [
      ['imageTag', tag],
      ['imageDigest', digest],
    ] as const) {
      const p = propertyOf(obj, name);
      if (p) edits.push({ start: p.initializer.getStart(file), end: p.initializer.end, text: `'${value}'` });
      else missing.push(`${name}: '${value}'`);
    }
    if (missing.length > 0) {
      const last = obj.properties[obj.properties.length - 1];
      const at = last ? last.end : obj.getStart(file) + 1;
      edits.push({ start: at, end: at, text: `${last ? ', ' : ' '}${missing.join(', ')}${last ? '' : ' '}` });
    }
  }
  let out = source;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * Rewrites `environments/<env>.ts` so the property at `keyPath` (e.g. `['stackCreated']` or
 * `['alerting', 'pager', 'urlSecretVersionId']`) holds `valueText` (TypeScript source, e.g. `true`
 * or `'abc'`) in the file's `defineEnvironment(base, { … })` overrides, touching nothing else:
 * replaced where written, else added to the innermost object literal on the path that the file
 * has, with the missing levels created around it.
 */
export function setConfigValue(source: string, keyPath: readonly string[], valueText: string): string {
  const { file, overrides } = parseOverrides(source);
  let obj = overrides;
  for (let i = 0; i < keyPath.length; i++) {
    const name = keyPath[i];
    const p = propertyOf(obj, name);
    const last = i === keyPath.length - 1;
    if (p && last)
      return source.slice(0, p.initializer.getStart(file)) + valueText + source.slice(p.initializer.end);
    if (p && ts.isObjectLiteralExpression(p.initializer)) {
      obj = p.initializer;
      continue;
    }
    if (p)
      throw new Error(`${keyPath.slice(0, i + 1).join('.')} is not an object literal: edit the file by hand`);
    // Missing from here on: add `name: { …rest… }` (or `name: value`) to this object.
    const nested = keyPath.slice(i + 1).reduceRight((inner, key) => `{ ${key}: ${inner} }`, valueText);
    const text = `${name}: ${nested}`;
    const tail = obj.properties[obj.properties.length - 1];
    if (!tail) {
      const at = obj.getStart(file) + 1;
      return `${source.slice(0, at)} ${text} ${source.slice(at)}`;
    }
    const multiline = source.slice(obj.getStart(file), tail.getStart(file)).includes('\n');
    const indent = multiline ? (/\n([ \t]*)$/.exec(source.slice(0, tail.getStart(file)))?.[1] ?? '  ') : '';
    return `${source.slice(0, tail.end)},${multiline ? `\n${indent}` : ' '}${text}${source.slice(tail.end)}`;
  }
  throw new Error('an empty key path: name the property to set');
}
