import { HealthCheckService } from '@nestjs/terminus';
import { FastifyReply } from 'fastify';
import { assertMetricsAllowed, MetricsAccess } from '../metrics/metrics-access';
import { MetricsService } from '../metrics/metrics.service';
import { BackingServicesHealth } from './health.indicators';

/** What /health/live, /health/ready and /metrics answer, for the gateway's and worker's controllers. */
export class OperationsEndpoints {
  constructor(
    private readonly health: HealthCheckService,
    private readonly services: BackingServicesHealth,
    private readonly metrics: MetricsService,
    private readonly metricsAccess: MetricsAccess,
  ) {}

  live(): { status: 'ok'; uptimeSeconds: number } {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  /** `extra`: the app's own checks (the worker's sandbox). */
  ready(extra: Array<() => Promise<Record<string, { status: 'up' | 'down'; [k: string]: unknown }>>> = []) {
    return this.health.check([() => this.services.database(), () => this.services.redisCheck(), ...extra]);
  }

  /** Only for METRICS_TOKEN (or anyone in development without one): see assertMetricsAllowed. */
  async prometheus(reply: FastifyReply, authorization: string | undefined): Promise<void> {
    assertMetricsAllowed(this.metricsAccess, authorization);
    const { contentType, body } = await this.metrics.render();
    await reply.type(contentType).send(body);
  }
}
