/** One queue per kind of work (DESIGN.md). */
export enum QueueName {
  Agents = 'agents',
  Builds = 'builds',
  TestRuns = 'test-runs',
  Deployments = 'deployments',
  Webhooks = 'webhooks',
  Mail = 'mail',
  Changes = 'changes',
}

/** The events other systems can subscribe to (webhooks): the seed's eight and ours. */
export const EVENT_TYPES = [
  'project.created',
  'task.updated',
  'agent.completed',
  'build.started',
  'build.completed',
  'deployment.success',
  'deployment.failed',
  'test.failed',
  'webhook.disabled',
  'change.opened',
  'change.merged',
  'change.closed',
  'flow.awaiting_approval',
  'flow.completed',
  'flow.failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A fact that happened, written to the outbox in the transaction that made it true. */
export interface DomainEvent {
  id: string;
  type: EventType;
  occurredAt: string;
  /** The project it belongs to, for project-scoped subscriptions (null: platform-wide). */
  projectId: string | null;
  data: Record<string, unknown>;
}

/** Every job the platform runs: name -> payload. Payloads carry ids, never entities. */
export interface JobPayloads {
  'mail.send': { mailId: string };
  /** Fans an event out to the webhooks subscribed to it. */
  'event.fanout': DomainEvent;
  /** One attempt at delivering one event to one webhook. */
  'webhook.deliver': { deliveryId: string };
  /** Runs (or resumes) an agent activation. */
  'agent.run': { activationId: string };
  /** Starts the next queued deployment of an application in an environment, if none is running there. */
  'deployment.start': { applicationId: string; environment: string };
  /** Resumes a running deployment whose worker was lost (its lease lapsed). */
  'deployment.resume': { deploymentId: string };
  /** Runs one build of a pipeline (a no-op unless the build is still queued). */
  'build.run': { buildId: string };
  /** Runs one test-suite run (a no-op unless the run is still queued). */
  'test.run': { runId: string };
  /**
   * Opens a change (or moves an open one of the same branch to a new head): its commits, diff
   * stat and diff are read from a fresh clone in a sandbox. What the code agents enqueue.
   */
  'change.open': OpenChangeInput;
  /** Merges a change whose merge was accepted (POST /v2/changes/{id}/merge) and pushes it. */
  'change.merge': { changeId: string };
  /** Moves a flow on from where it is (idempotent: a flow is advanced under its row lock). */
  'flow.advance': { flowId: string };
}

/** What opens a change: where the work is (never with credentials in the URL) and what it is for. */
export interface OpenChangeInput {
  projectId: string;
  taskId?: string | null;
  activationId?: string | null;
  repositoryUrl: string;
  /** `cocode/<TASK-KEY>-<agent>-<n>` */
  branch: string;
  baseBranch: string;
  baseSha: string;
  headSha: string;
  buildId?: string | null;
}

export type JobName = keyof JobPayloads;

/** Which queue each job goes to. */
export const JOB_QUEUE = {
  'mail.send': QueueName.Mail,
  'event.fanout': QueueName.Webhooks,
  'webhook.deliver': QueueName.Webhooks,
  'agent.run': QueueName.Agents,
  'deployment.start': QueueName.Deployments,
  'deployment.resume': QueueName.Deployments,
  'build.run': QueueName.Builds,
  'test.run': QueueName.TestRuns,
  'change.open': QueueName.Changes,
  'change.merge': QueueName.Changes,
  'flow.advance': QueueName.Agents,
} as const satisfies { [N in JobName]: QueueName };

/** What a processor receives: the payload plus the id of the request that caused it. */
export type JobData<N extends JobName> = JobPayloads[N] & { requestId?: string };
