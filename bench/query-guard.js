#!/usr/bin/env node
'use strict';
// What the check for undocumented query parameters (DocumentedQueryGuard, 422 unknown_field) adds
// to each request, run the way Nest's router runs it: through GuardsConsumer behind a stand-in for
// the two APP_GUARDs, against the same guards alone; and, for the record, what the same check
// cost as an interceptor (InterceptorsConsumer + lastValueFrom: Nest's rxjs chain) and what that
// chain costs with a no-op interceptor. A route without query parameters and a list with three.
// Rounds alternate so drift hits all alike. Needs `npm run build` first. Prints µs per request.
const { GuardsConsumer } = require('@nestjs/core/guards/guards-consumer');
const { InterceptorsConsumer } = require('@nestjs/core/interceptors/interceptors-consumer');
const { isObservable, lastValueFrom } = require('rxjs');
const { DocumentedQueryGuard } = require('../dist/apps/gateway/src/http/documented-query.guard');
const document = require('../docs/openapi.json');

const N = Number(process.env.N ?? 50000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const guards = new GuardsConsumer();
const interceptors = new InterceptorsConsumer();
const check = new DocumentedQueryGuard(document);
const appGuards = [{ canActivate: async () => true }, { canActivate: async () => true }];
const noopInterceptor = { intercept: (_context, next) => next.handle() };
const checkInterceptor = { intercept: (context, next) => (check.canActivate(context), next.handle()) };
const handler = async () => ({ ok: true });
const requests = {
  'GET /v2/users/{userId}': { method: 'GET', routeOptions: { url: '/v2/users/:userId' }, query: {} },
  'GET /v2/users?page&pageSize&role': {
    method: 'GET',
    routeOptions: { url: '/v2/users' },
    query: { page: '1', pageSize: '20', role: 'developer' },
  },
};

async function viaGuards(list, request) {
  const args = [request, {}, undefined];
  if (!(await guards.tryActivate(list, args, {}, handler, 'http'))) throw new Error('refused');
  return handler();
}

async function viaInterceptor(list, request) {
  const args = [request, {}, undefined];
  await guards.tryActivate(appGuards, args, {}, handler, 'http');
  const result = await interceptors.intercept(list, args, {}, handler, handler, 'http');
  return isObservable(result) ? lastValueFrom(result) : result;
}

const variants = {
  'app guards only': (r) => viaGuards(appGuards, r),
  '+ check as a guard': (r) => viaGuards([...appGuards, check], r),
  '+ no-op interceptor': (r) => viaInterceptor([noopInterceptor], r),
  '+ check as an interceptor': (r) => viaInterceptor([checkInterceptor], r),
};

async function time(run, request) {
  const start = performance.now();
  for (let i = 0; i < N; i++) await run(request);
  return ((performance.now() - start) * 1000) / N;
}

async function main() {
  for (const [route, request] of Object.entries(requests)) {
    const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (const run of Object.values(variants)) await time(run, request); // warm-up
    for (let r = 0; r < ROUNDS; r++)
      for (const [name, run] of Object.entries(variants)) samples[name].push(await time(run, request));
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const base = median(samples['app guards only']);
    console.log(`${route}: µs per request, median of ${ROUNDS} rounds of ${N}`);
    for (const [name, xs] of Object.entries(samples)) {
      const m = median(xs);
      console.log(`  ${name.padEnd(28)} ${m.toFixed(2).padStart(7)}  (+${(m - base).toFixed(2)})`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
