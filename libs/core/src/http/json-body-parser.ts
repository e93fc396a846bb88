import { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error';
import { jsonDepth, MAX_JSON_DEPTH } from './input-checks';

/**
 * Replaces Fastify's JSON body parser (keeping its prototype-poisoning checks) with one that
 * - takes an empty body as no body: clients send `Content-Type: application/json` on DELETE and
 *   on body-less POSTs (approve, cancel), and that is not a malformed document;
 * - refuses documents nested deeper than MAX_JSON_DEPTH (400) before anything recurses into them.
 */
export function installJsonBodyParser(fastify: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    if (jsonDepth(text, maxDepth) > maxDepth) {
      return done(
        AppError.invalidRequest(`JSON document nested deeper than ${maxDepth} levels`, {
          reason: 'too_deep',
          maxDepth,
        }),
        undefined,
      );
    }
    // Fastify's parser answers through `done`; its typing also allows a promise, which carries nothing.
    void parse(request, text, done);
  });
}
