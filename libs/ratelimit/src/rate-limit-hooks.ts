import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LimitedRequest } from './rate-limit.decorators';
import { bucketKey, trackerOf } from './rate-limit-keys';
import { applyRateLimitHeaders } from './rate-limit-outcome';
import { RateLimiter } from './rate-limiter';

/**
 * Gateway hooks of the limiter. `request.rateLimit` is declared up front so that every request
 * object keeps one shape. With the limiter on, /v2 responses that never reached the guard (401 and
 * 403 from the AccessGuard, unknown routes, bodies Fastify could not parse) get the headers too:
 * the caller's buckets are read, free of charge.
 */
export function installRateLimitHooks(fastify: FastifyInstance, limiter: RateLimiter): void {
  fastify.decorateRequest('rateLimit', null);
  if (!limiter.enabled) return;
  fastify.addHook(
    'onSend',
    (
      request: FastifyRequest,
      reply: FastifyReply,
      payload: unknown,
      done: (err: null, p: unknown) => void,
    ) => {
      const limited = request as unknown as LimitedRequest;
      if (limited.rateLimit !== null || !request.url.startsWith('/v2/')) return done(null, payload);
      // peek() failures are swallowed (the headers are optional) and done() always runs: nothing
      // is left to reject, which `void` states.
      void limiter
        .peek(bucketKey(trackerOf(limited)), limiter.policies.of(limited.user))
        .then((outcome) => outcome && applyRateLimitHeaders(reply, outcome))
        .catch(() => undefined)
        .then(() => done(null, payload));
    },
  );
}
