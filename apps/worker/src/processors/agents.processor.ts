import { Processor } from '@nestjs/bullmq';
import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AgentRunner } from '@app/agents';
import { MetricsService, QueueName } from '@app/core';
import { FlowEngine } from '@app/flows';
import { JobHandlers, JobProcessor } from './job-processor';

@Processor(QueueName.Agents)
export class AgentsProcessor extends JobProcessor<QueueName.Agents> implements OnModuleInit, OnModuleDestroy {
  readonly queue = QueueName.Agents;
  protected readonly handlers: JobHandlers<QueueName.Agents> = {
    'agent.run': (data) => this.runner.run(data.activationId),
    'flow.advance': (data) => this.flows.advance(data.flowId),
  };

  constructor(
    private readonly runner: AgentRunner,
    private readonly flows: FlowEngine,
    metrics: MetricsService,
  ) {
    super(metrics);
  }

  /** The sweep that re-queues activations whose worker died (their lease ran out). */
  onModuleInit(): void {
    this.runner.startSweeping();
    this.flows.startSweeping();
  }

  /** SIGTERM: the first hook Nest runs; running activations stop after their current step and go back to the queue. */
  onModuleDestroy(): void {
    this.runner.stop();
    this.flows.stopSweeping();
  }
}
