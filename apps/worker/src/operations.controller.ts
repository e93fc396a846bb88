import { Controller, Get, Res } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { BackingServicesHealth, MetricsService, OperationsEndpoints } from '@app/core';
import { FastifyReply } from 'fastify';

/** The worker serves no API: only its health and metrics, for orchestrators and Prometheus. */
@Controller()
export class OperationsController {
  private readonly ops: OperationsEndpoints;

  constructor(health: HealthCheckService, services: BackingServicesHealth, metrics: MetricsService) {
    this.ops = new OperationsEndpoints(health, services, metrics);
  }

  @Get('health/live')
  live() {
    return this.ops.live();
  }

  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.ops.ready();
  }

  @Get('metrics')
  metrics(@Res() reply: FastifyReply): Promise<void> {
    return this.ops.prometheus(reply);
  }
}
