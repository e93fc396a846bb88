import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs, the OpenAPI 3 document at /docs-json. */
export function setupSwagger(app: INestApplication, publicBaseUrl: string): void {
  const config = new DocumentBuilder()
    .setTitle('OpenClaw CoCode API')
    .setDescription(
      'REST API v2 of the OpenClaw CoCode R&D automation platform. Get a token at POST /v2/auth/token, then send it as ' +
        '`Authorization: Bearer <token>`. Errors use one envelope: `{error:{code,message,details,requestId,timestamp}}`.',
    )
    .setVersion('2.0')
    .addServer(publicBaseUrl)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
