import { Controller, Get, Headers, Res } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { AppConfig, BackingServicesHealth, MetricsService, OperationsEndpoints } from '@app/core';
import { Sandbox } from '@app/runner';
import { FastifyReply } from 'fastify';

/** The worker serves no API: only its health and metrics, for orchestrators and Prometheus. */
@Controller()
export class OperationsController {
  private readonly ops: OperationsEndpoints;

  constructor(
    health: HealthCheckService,
    services: BackingServicesHealth,
    metrics: MetricsService,
    config: AppConfig,
    private readonly sandbox: Sandbox,
  ) {
    this.ops = new OperationsEndpoints(health, services, metrics, config.metrics);
  }

  @Get('health/live')
  live() {
    return this.ops.live();
  }

  @Get('health/ready')
  @HealthCheck()
  ready() {
    // Which executor contains users' commands here, and with what (the worker does not start without one that works).
    return this.ops.ready([async () => ({ sandbox: { status: 'up' as const, ...this.sandbox.info() } })]);
  }

  @Get('metrics')
  metrics(
    @Res() reply: FastifyReply,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<void> {
    return this.ops.prometheus(reply, authorization);
  }
}
