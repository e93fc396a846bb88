import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

const ERROR_ENVELOPE = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'requestId', 'timestamp'],
      properties: {
        code: {
          type: 'string',
          enum: [
            'INVALID_REQUEST',
            'UNAUTHORIZED',
            'FORBIDDEN',
            'NOT_FOUND',
            'CONFLICT',
            'VALIDATION_ERROR',
            'RATE_LIMITED',
            'INTERNAL_ERROR',
            'SERVICE_UNAVAILABLE',
          ],
        },
        message: { type: 'string' },
        details: { type: 'object' },
        requestId: { type: 'string', example: 'req_abc123def456' },
        timestamp: { type: 'string', format: 'date-time' },
      },
    },
  },
};

/** The seed's examples of its error envelope. */
const EXAMPLES: Record<string, { description: string; example: unknown }> = {
  '400': {
    description: 'Malformed request (e.g. invalid JSON)',
    example: envelope('INVALID_REQUEST', 'Malformed JSON in request body', {}),
  },
  '404': {
    description: 'Not found, or not visible to the caller',
    example: envelope('NOT_FOUND', '用户不存在', { resource: 'user', id: 'usr_invalid123' }),
  },
  '422': {
    description: 'Validation failed',
    example: envelope('VALIDATION_ERROR', '请求数据验证失败', {
      fields: [
        { field: 'email', message: '邮箱格式不正确', code: 'invalid_format' },
        { field: 'password', message: '密码长度至少为 8 位', code: 'min_length' },
      ],
    }),
  },
  '429': {
    description:
      'Rate limit: the minute or hour token bucket is empty, or too many requests are in flight ' +
      '(Retry-After; details.limit is minute, hour or concurrency; see GET /v2/rate-limit)',
    example: envelope(
      'RATE_LIMITED',
      'Rate limit exceeded: 60 requests per minute for the free tier; retry in 1 s',
      {
        limit: 'minute',
        scope: 'user',
        tier: 'free',
        max: 60,
        windowSeconds: 60,
        remaining: 0,
        retryAfterSeconds: 1,
      },
    ),
  },
  '503': {
    description: 'PostgreSQL or Redis unavailable (Retry-After)',
    example: envelope('SERVICE_UNAVAILABLE', 'A backing service is unavailable', {}),
  },
};

function envelope(code: string, message: string, details: unknown) {
  return {
    error: { code, message, details, requestId: 'req_abc123def456', timestamp: '2026-03-14T12:30:00Z' },
  };
}

/** Every operation documents the error envelope for the statuses any of them can answer. */
function addErrorResponses(document: OpenAPIObject): void {
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas.ErrorEnvelope = ERROR_ENVELOPE as never;
  const ref = { $ref: '#/components/schemas/ErrorEnvelope' };
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item)) {
      if (!op || typeof op !== 'object' || !('responses' in op)) continue;
      const responses = (op as { responses: Record<string, { description: string; content?: unknown }> })
        .responses;
      for (const [status, { description, example }] of Object.entries(EXAMPLES)) {
        responses[status] ??= { description, content: { 'application/json': { schema: ref, example } } };
      }
      for (const status of ['401', '403']) {
        if (responses[status]) responses[status].content ??= { 'application/json': { schema: ref } };
      }
    }
  }
}

/**
 * Swagger UI at /docs, the OpenAPI 3 document at /docs-json. The server is PUBLIC_BASE_URL when it
 * is set, else "/": relative to wherever the page was loaded from (localhost, 127.0.0.1, a LAN
 * name), so "Try it out" calls the same origin and CORS never gets in the way.
 */
/**
 * The swagger plugin's class-validator shim turns `@IsIn(values, { each: true })` on an array into
 * an `enum` on the array itself (which no array can match) next to the items' own enum: keep the
 * enum on the items only.
 */
function arrayEnumsOnItems(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(arrayEnumsOnItems);
  if (!node || typeof node !== 'object') return;
  const schema = node as { type?: unknown; enum?: unknown[]; items?: { enum?: unknown[] } };
  if (schema.type === 'array' && schema.enum && schema.items) {
    schema.items.enum ??= schema.enum;
    delete schema.enum;
  }
  Object.values(node).forEach(arrayEnumsOnItems);
}

export function setupSwagger(app: INestApplication, publicBaseUrl?: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('OpenClaw CoCode API')
    .setDescription(
      'REST API v2 of the OpenClaw CoCode R&D automation platform. Get a token at POST /v2/auth/token, then send it as ' +
        '`Authorization: Bearer <token>`. Errors use one envelope: `{error:{code,message,details,requestId,timestamp}}`.',
    )
    .setVersion('2.0')
    .addServer(publicBaseUrl ?? '/')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  arrayEnumsOnItems(document);
  addErrorResponses(document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  return document;
}
