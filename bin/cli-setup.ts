// Imported first by every entry point in bin/, before anything loads environments/ or an AWS SDK
// client, so both settings below are in force from the first line.

/**
 * A ConfigValidationError is thrown while environments/ loads (`cdk synth`, `ops`, `diff`). Its
 * message already names each field, value and fix: print only that, never the stack frames
 * around it. Anything else keeps Node's usual report.
 */
export function reportFatal(err: unknown): string {
  if (err instanceof Error && err.name === 'ConfigValidationError') return `${err.message}\n`;
  return `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`;
}

process.on('uncaughtException', (err) => {
  process.stderr.write(reportFatal(err));
  process.exit(1);
});

// The AWS SDK warns on every Node 20 run that its 2027 releases will need Node 22: 9 lines in each
// `ops` command, emergency stop included. README states the supported Node versions instead. Only
// this one warning is switched off (its own documented variable); every other warning still prints.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
