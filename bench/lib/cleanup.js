'use strict';
const { mkdirSync } = require('node:fs');
// Undo everything the benchmark started, exactly once, whether it ends normally, fails,
// or is interrupted (Ctrl-C / SIGTERM / an uncaught error).

const tasks = [];
let running = null;
let interrupts = 0;

/** Registers an undo step; steps run in reverse order of registration. */
function onCleanup(label, fn) {
  tasks.push({ label, fn });
}

/** Runs every undo step once (later calls get the same promise); a failing step does not stop the rest. */
function runCleanup() {
  running ??= (async () => {
    const problems = [];
    for (const { label, fn } of tasks.slice().reverse()) {
      try {
        await fn();
      } catch (err) {
        problems.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    tasks.length = 0;
    for (const p of problems) process.stderr.write(`cleanup problem: ${p}\n`);
    return problems;
  })();
  return running;
}

/**
 * Installs the signal and error handlers. `hardKill` is called synchronously when cleanup
 * cannot run (a second Ctrl-C, or the process exiting with children still alive).
 */
function installHandlers(hardKill) {
  const onSignal = (signal) => {
    interrupts += 1;
    if (interrupts > 1) {
      process.stderr.write(`\n${signal} again: killing the child processes and leaving now\n`);
      hardKill();
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping and cleaning up (press Ctrl-C again to leave at once)\n`);
    runCleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const onFatal = (err) => {
    process.stderr.write(`\nbenchmark crashed: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
    runCleanup().finally(() => process.exit(1));
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  // Last resort: never leave a child running behind us.
  process.on('exit', hardKill);
}

/**
 * Runs a benchmark: the handlers installed, its results folder made, `main(stamp)` (stamp: the
 * run's time, for its result files), then the cleanup; exits 0, or 1 with the error when it failed.
 */
function runBench(main, { hardKill, resultsDir }) {
  installHandlers(hardKill);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(resultsDir, { recursive: true });
  main(stamp)
    .then(() => runCleanup())
    .then(() => process.exit(0))
    .catch(async (err) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : err}\n`);
      await runCleanup();
      process.exit(1);
    });
}

module.exports = { onCleanup, runCleanup, installHandlers, runBench };
