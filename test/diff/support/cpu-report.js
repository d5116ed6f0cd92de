// Preloaded into `bin/diff.ts` by cli-speed.test.ts: prints the process's CPU time at exit, so the
// test can hold the argument check to its budget even on a loaded machine.
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`\ncpu-ms ${Math.round((user + system) / 1000)}\n`);
});
