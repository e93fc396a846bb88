import { Processor } from '@nestjs/bullmq';
import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AgentRunner } from '@app/agents';
import { AppConfig, MetricsService, QueueName } from '@app/core';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.Agents)
export class AgentsProcessor extends JobProcessor<QueueName.Agents> implements OnModuleInit, OnModuleDestroy {
  readonly queue = QueueName.Agents;
  protected readonly handlers: JobHandlers<QueueName.Agents> = {
    'agent.run': (data) => this.runner.run(data.activationId),
  };
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly runner: AgentRunner,
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  onModuleInit(): void {
    // Picks up activations whose worker died (their lease ran out) well before BullMQ's stall check would.
    const every = Math.max(1000, Math.floor(this.config.agents.leaseMs / 2));
    this.timer = setInterval(() => {
      this.runner
        .resumeOrphans()
        .catch((err: Error) => this.logger.warn(`resuming orphaned activations failed: ${err.message}`));
    }, every);
    this.timer.unref();
  }

  /** SIGTERM: the first hook Nest runs; running activations stop after their current step and go back to the queue. */
  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.runner.stop();
  }
}
