import { featuresOf, requirementOf, slug } from '../agent-input';
import { r, simpleAgent } from './shared';

export const api = simpleAgent(
  'api',
  'API 设计 Agent',
  'Designs the REST API: resources, endpoints, schemas, errors and security, as an OpenAPI description.',
  [
    [
      'resources',
      '资源识别',
      'Identify the REST resources.',
      '{"resources": [{"name": string, "path": string}]}',
      (ctx) => ({
        resources: featuresOf(requirementOf(ctx.input)).map((f) => ({ name: f, path: `/${slug(f)}` })),
      }),
    ],
    [
      'endpoints',
      '端点设计',
      'Design the endpoints of every resource.',
      '{"endpoints": [{"method": string, "path": string, "summary": string}]}',
      (ctx) => ({
        endpoints: featuresOf(requirementOf(ctx.input)).flatMap((f) => [
          { method: 'GET', path: `/${slug(f)}`, summary: `列出${f}` },
          { method: 'POST', path: `/${slug(f)}`, summary: `创建${f}` },
        ]),
      }),
    ],
    [
      'schemas',
      '数据结构定义',
      'Define the request and response schemas.',
      '{"schemas": [{"name": string, "properties": object}]}',
      (ctx) => ({
        schemas: featuresOf(requirementOf(ctx.input)).map((f) => ({
          name: slug(f),
          properties: { id: { type: 'string' } },
        })),
      }),
    ],
    [
      'errorsAndSecurity',
      '错误与安全设计',
      'Define error responses and the security scheme.',
      '{"errors": string[], "security": string}',
      () => ({ errors: ['400', '401', '403', '404', '409', '422', '429', '500'], security: 'bearer JWT' }),
    ],
  ],
  ['document', 'OpenAPI 生成', 'API specification', 'api-spec', 'api-spec.md'],
  'apiSpec',
  (ctx) => ({ endpoints: r(ctx, 'endpoints', 'endpoints'), schemas: r(ctx, 'schemas', 'schemas') }),
);
