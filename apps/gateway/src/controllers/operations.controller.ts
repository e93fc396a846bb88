import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '@app/auth';
import { AppConfig, BackingServicesHealth, MetricsService, OperationsEndpoints } from '@app/core';
import { FastifyReply } from 'fastify';

@ApiTags('operations')
@Controller()
@SkipThrottle() // probes and scrapers are never rate-limited
export class OperationsController {
  private readonly ops: OperationsEndpoints;

  constructor(
    health: HealthCheckService,
    services: BackingServicesHealth,
    metrics: MetricsService,
    config: AppConfig,
  ) {
    this.ops = new OperationsEndpoints(health, services, metrics, config.metrics);
  }

  @Get('health/live')
  @Public()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return this.ops.live();
  }

  @Get('health/ready')
  @Public()
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: PostgreSQL and Redis reachable (503 otherwise)' })
  ready() {
    return this.ops.ready();
  }

  @Get('metrics')
  @Public()
  @ApiExcludeEndpoint()
  metrics(
    @Res() reply: FastifyReply,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<void> {
    return this.ops.prometheus(reply, authorization);
  }
}
