'use strict';
// V8 flags the gateway runs with: scripts/start.js and the benchmarks read them here; the
// Dockerfile, docker-compose.yml and `npm run start:gateway` repeat them.
//
// The young generation keeps at least 8 MB a semi-space. Left to itself V8 shrinks and regrows it
// under the gateway's load once requests wait on a Redis round trip (the rate limiter): it
// unmapped pages ~100 times a second at ~135 µs each (strace), every thread interrupted. Measured
// with bench/ratelimit.js (pinned, 20 rounds): requests/s +8 % (limiter off) and +20 % (on), the
// limiter's cost 21 % -> 13 %; idle RSS +12 MB. The worker keeps V8's defaults.
const GATEWAY_NODE_FLAGS = ['--min-semi-space-size=8'];

module.exports = { GATEWAY_NODE_FLAGS };
