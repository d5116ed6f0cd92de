/**
 * One synth of the real app (bin/app.ts's code: lib/app.ts's stacks, lib/checks.ts's packs), timed
 * phase by phase, for `npm run bench:synth`'s breakdown. Run by ts-node --swc like cdk.json's app.
 *
 * argv[2]: JSON { outdir: string, packs: string[] }. The CloudFormation validation is on unless
 * CDK_VALIDATION=false (aws-cdk-lib's own switch). Prints one JSON line of milliseconds.
 */
const startupMs = process.uptime() * 1000;
const since = (t: number) => performance.now() - t;

async function main(): Promise<void> {
  const { outdir, packs } = JSON.parse(process.argv[2]) as { outdir: string; packs: string[] };
  let t = performance.now();
  const [{ App }, { defineStacks }, { applyChecks }, { startValidation }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../lib/app'),
    import('../lib/checks'),
    import('../lib/background-validation'),
  ]);
  const importsMs = since(t);
  // cdk.json's feature flags, as the CLI passes them.
  const context = (await import('../cdk.json')).context;
  t = performance.now();
  const app = new App({ outdir, context });
  startValidation(app); // as bin/app.ts: the engine builds in a worker meanwhile
  defineStacks(app);
  applyChecks(app, packs);
  const constructMs = since(t); // includes bundling: NodejsFunction bundles while it is built
  t = performance.now();
  app.synth();
  const synthMs = since(t);
  process.stdout.write(`${JSON.stringify({ startupMs, importsMs, constructMs, synthMs })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
