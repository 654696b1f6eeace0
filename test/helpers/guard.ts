// Loaded into every test process: an unhandled rejection or uncaught exception fails the run,
// whatever test was running when it happened.
let failures = 0;
process.on('unhandledRejection', (reason) => {
  failures++;
  console.error('UNHANDLED REJECTION (fails the run):', reason);
  process.exitCode = 1;
});
process.on('exit', (code) => {
  if (failures > 0 && code === 0) process.exitCode = 1;
});
