// Loaded into every test process: an unhandled rejection, an uncaught exception or any process
// warning (a DeprecationWarning on a newer Node, a MaxListenersExceededWarning...) fails the run,
// whatever test was running when it happened. The matrix runs this on every supported Node major.
let failures = 0;
process.on('unhandledRejection', (reason) => {
  failures++;
  console.error('UNHANDLED REJECTION (fails the run):', reason);
  process.exitCode = 1;
});
process.on('warning', (warning) => {
  failures++;
  console.error(`PROCESS WARNING (fails the run): ${warning.name}${'code' in warning ? ` ${String(warning.code)}` : ''}: ${warning.message}`);
  process.exitCode = 1;
});
process.on('exit', (code) => {
  if (failures > 0 && code === 0) process.exitCode = 1;
});
