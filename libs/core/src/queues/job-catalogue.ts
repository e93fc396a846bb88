/** One queue per kind of work (DESIGN.md). */
export enum QueueName {
  Agents = 'agents',
  Builds = 'builds',
  TestRuns = 'test-runs',
  Deployments = 'deployments',
  Webhooks = 'webhooks',
  Mail = 'mail',
}

/** Every job the platform runs: name -> payload. Payloads carry ids, never entities. */
export interface JobPayloads {
  'mail.send': { mailId: string };
}

export type JobName = keyof JobPayloads;

/** Which queue each job goes to. */
export const JOB_QUEUE = {
  'mail.send': QueueName.Mail,
} as const satisfies { [N in JobName]: QueueName };

/** What a processor receives: the payload plus the id of the request that caused it. */
export type JobData<N extends JobName> = JobPayloads[N] & { requestId?: string };
