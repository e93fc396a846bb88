'use strict';
// Preloaded (node -r) into the gateway and the bare server only when BENCH_CPU_PROF=1: SIGUSR2 makes the process
// leave through process.exit(), which is when node --cpu-prof writes its profile (a process
// killed by SIGTERM/SIGKILL writes none).
process.on('SIGUSR2', () => process.exit(0));
