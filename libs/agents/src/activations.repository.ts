import { Injectable } from '@nestjs/common';
import { Conditions, pageClause, PageQueryDto, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { AgentActivationEntity, StepState } from './agent-activation.entity';
import { ActivationContext, DocumentRef } from './agent-input';
import { AgentType, EndStatus } from './agent-types';

/** An activation as a list shows it. */
export interface ActivationSummaryRow {
  id: string;
  agent_type: AgentType;
  task_id: string;
  project_id: string;
  status: AgentActivationEntity['status'];
  progress: number;
  current_step: string | null;
  requested_by: string;
  provider: string;
  error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

/** A flow's activation as its stage shows it. */
export interface FlowActivationRow {
  id: string;
  flowId: string;
  status: AgentActivationEntity['status'];
  costUsd: number;
  read: DocumentRef[];
  written: DocumentRef | null;
  change: { changeId?: string; buildId?: string | null; buildStatus?: string | null } | null;
}

/** What a list of activations is narrowed by, besides the caller's visible projects. */
export interface ActivationFilter {
  taskId?: string;
  agentType?: string;
  status?: string;
}

/** One line of a project's spend: a day, an agent type and a model. */
export interface UsageRow {
  day: string;
  agentType: AgentType;
  model: string | null;
  activations: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  tokensUsed: number;
  costUsd: number;
}

/** The fields of a running activation saved after each step. */
export type ActivationProgressFields = Partial<
  Pick<
    AgentActivationEntity,
    | 'steps'
    | 'currentStep'
    | 'progress'
    | 'intermediateResults'
    | 'tokensUsed'
    | 'modelUsed'
    | 'inputTokens'
    | 'outputTokens'
    | 'cacheReadTokens'
    | 'costUsd'
    | 'numTurns'
  >
>;

const SAVED_COLUMNS: Record<keyof ActivationProgressFields, string> = {
  steps: 'steps',
  currentStep: 'current_step',
  progress: 'progress',
  intermediateResults: 'intermediate_results',
  numTurns: 'num_turns',
  tokensUsed: 'tokens_used',
  modelUsed: 'model_used',
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
  cacheReadTokens: 'cache_read_tokens',
  costUsd: 'cost_usd',
};

/** The agent_activations table. Without a manager a statement runs straight on the pool. */
@Injectable()
export class ActivationsRepository {
  constructor(private readonly sql: Sql) {}

  async insert(
    manager: EntityManager,
    a: {
      id: string;
      type: AgentType;
      taskId: string;
      projectId: string;
      requestedBy: string;
      input: unknown;
      config: unknown;
      notifyOnComplete: boolean;
      provider: string;
      workflow: 'document' | 'code';
      context: ActivationContext;
      flowId: string | null;
      steps: StepState[];
      estimatedCompletionAt: Date;
    },
  ): Promise<void> {
    await this.sql.exec(
      `INSERT INTO agent_activations (id, agent_type, task_id, project_id, requested_by, status, input, config,
                                        notify_on_complete, provider, steps, estimated_completion_at, workflow, context, flow_id)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        a.id,
        a.type,
        a.taskId,
        a.projectId,
        a.requestedBy,
        JSON.stringify(a.input),
        JSON.stringify(a.config),
        a.notifyOnComplete,
        a.provider,
        JSON.stringify(a.steps),
        a.estimatedCompletionAt,
        a.workflow,
        JSON.stringify(a.context),
        a.flowId,
      ],
      manager,
    );
  }

  /** One page of activations in the visible projects (`where`: restrictToVisible's conditions), and the total. */
  page(
    where: Conditions,
    filter: ActivationFilter,
    query: Pick<PageQueryDto, 'page' | 'pageSize' | 'sortOrder'>,
  ): Promise<{ rows: ActivationSummaryRow[]; total: number }> {
    if (filter.taskId) where.and((v) => `a.task_id = ${v(filter.taskId)}`);
    if (filter.agentType) where.and((v) => `a.agent_type = ${v(filter.agentType)}`);
    if (filter.status) where.and((v) => `a.status = ${v(filter.status)}`);
    return this.sql.page<ActivationSummaryRow>(
      `a.id, a.agent_type, a.task_id, a.project_id, a.status, a.progress, a.current_step, a.requested_by, a.provider,
       a.error, a.created_at, a.completed_at`,
      'FROM agent_activations a JOIN projects p ON p.id = a.project_id',
      where,
      pageClause(query, 'a.created_at', 'a.id'),
    );
  }

  find(activationId: string): Promise<AgentActivationEntity | undefined> {
    return this.sql.one<AgentActivationEntity>(
      `SELECT id, agent_type AS "agentType", task_id AS "taskId", project_id AS "projectId", requested_by AS "requestedBy", status,
              steps, progress, current_step AS "currentStep", intermediate_results AS "intermediateResults", output, files, error,
              tokens_used AS "tokensUsed", model_used AS "modelUsed", execution_ms AS "executionMs", provider,
              input_tokens AS "inputTokens", output_tokens AS "outputTokens", cache_read_tokens AS "cacheReadTokens",
              cost_usd::float8 AS "costUsd", num_turns AS "numTurns", workflow, context, created_at AS "createdAt", completed_at AS "completedAt"
         FROM agent_activations WHERE id = $1`,
      [activationId],
    );
  }

  /** Flows' activations as their stages show them: status, spend, documents read and written, change. */
  ofFlows(flowIds: string[]): Promise<FlowActivationRow[]> {
    return this.sql.rows<FlowActivationRow>(
      `SELECT a.id, a.flow_id AS "flowId", a.status, a.cost_usd::float8 AS "costUsd", COALESCE(a.context->'documents', '[]') AS "read",
              a.output->'change' AS change,
              (SELECT json_build_object('id', d.id, 'kind', d.kind, 'version', d.version, 'title', d.title)
                 FROM project_documents d WHERE d.activation_id = a.id LIMIT 1) AS written
         FROM agent_activations a WHERE a.flow_id = ANY($1)`,
      [flowIds],
    );
  }

  /**
   * A project's spend between two instants: activations created in [from, to), summed by UTC day,
   * agent type and model (the model that answered; null while none has), oldest day first.
   */
  usage(projectId: string, from: Date, to: Date): Promise<UsageRow[]> {
    return this.sql.rows<UsageRow>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, agent_type AS "agentType",
              model_used AS model, count(*)::int AS activations, sum(input_tokens)::int8::float8 AS "inputTokens",
              sum(output_tokens)::int8::float8 AS "outputTokens", sum(cache_read_tokens)::int8::float8 AS "cacheReadTokens",
              sum(tokens_used)::int8::float8 AS "tokensUsed", sum(cost_usd)::float8 AS "costUsd"
         FROM agent_activations
        WHERE project_id = $1 AND created_at >= $2 AND created_at < $3
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3`,
      [projectId, from, to],
    );
  }

  /** USD spent by a project's activations created since `from`. */
  async spentSince(projectId: string, from: Date, manager?: EntityManager): Promise<number> {
    const row = await this.sql.one<{ usd: number }>(
      `SELECT COALESCE(sum(cost_usd), 0)::float8 AS usd FROM agent_activations WHERE project_id = $1 AND created_at >= $2`,
      [projectId, from],
      manager,
    );
    return row?.usd ?? 0;
  }

  /** Asks a queued or running activation to stop (a queued one is cancelled at once); its status after, or undefined. */
  async requestCancel(manager: EntityManager, activationId: string): Promise<string | undefined> {
    const [updated] = await this.sql.rows<{ status: string }>(
      `UPDATE agent_activations
            SET cancel_requested = true,
                status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                completed_at = CASE WHEN status = 'queued' THEN now() ELSE completed_at END,
                updated_at = now()
          WHERE id = $1 AND status IN ('queued', 'processing') RETURNING status`,
      [activationId],
      manager,
    );
    return updated?.status;
  }

  /** The mean execution time (ms) of the last 20 completed runs of this agent and provider. */
  async recentAverageMs(type: AgentType, provider: string): Promise<string | null> {
    const row = await this.sql.one<{ avg: string | null }>(
      `SELECT avg(execution_ms) AS avg FROM (SELECT execution_ms FROM agent_activations
        WHERE agent_type = $1 AND provider = $2 AND status = 'completed' ORDER BY completed_at DESC LIMIT 20) recent`,
      [type, provider],
    );
    return row?.avg ?? null;
  }

  /** Takes the activation's lease (it is queued, or running with a lapsed lease); the activation, or undefined. */
  claim(activationId: string, leaseMs: number): Promise<AgentActivationEntity | undefined> {
    return this.sql.one<AgentActivationEntity>(
      `UPDATE agent_activations
          SET status = 'processing', locked_until = now() + make_interval(secs => $2::float / 1000), runs = runs + 1,
              started_at = COALESCE(started_at, now()), updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'processing') AND (locked_until IS NULL OR locked_until < now())
        RETURNING id, agent_type AS "agentType", task_id AS "taskId", project_id AS "projectId", requested_by AS "requestedBy",
                  input, config, notify_on_complete AS "notifyOnComplete", provider, steps, intermediate_results AS "intermediateResults",
                  tokens_used AS "tokensUsed", model_used AS "modelUsed", input_tokens AS "inputTokens", output_tokens AS "outputTokens",
                  cache_read_tokens AS "cacheReadTokens", cost_usd::float8 AS "costUsd", cancel_requested AS "cancelRequested", runs, started_at AS "startedAt",
                  workflow, num_turns AS "numTurns", context, flow_id AS "flowId"`,
      [activationId, leaseMs],
    );
  }

  /** Renews the lease; whether a cancel was asked for (undefined when the row is gone). */
  async renew(id: string, leaseMs: number): Promise<boolean | undefined> {
    const r = await this.sql.one<{ cancel_requested: boolean }>(
      `UPDATE agent_activations SET locked_until = now() + make_interval(secs => $2::float / 1000) WHERE id = $1 RETURNING cancel_requested`,
      [id, leaseMs],
    );
    return r?.cancel_requested;
  }

  /** Frees the lease at once (the retry, or another worker, resumes). */
  async dropLease(id: string): Promise<void> {
    await this.sql.rows(`UPDATE agent_activations SET locked_until = NULL WHERE id = $1`, [id]);
  }

  /** Frees the lease of an activation handed back to the queue. */
  async handBack(id: string): Promise<void> {
    await this.sql.rows(
      `UPDATE agent_activations SET locked_until = NULL, updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  /** Activations nobody runs (lease lapsed, or queued for five minutes), up to 200. */
  orphans(): Promise<Array<{ id: string; runs: number }>> {
    return this.sql.rows<{ id: string; runs: number }>(
      `SELECT id, runs FROM agent_activations
        WHERE (status = 'processing' AND (locked_until IS NULL OR locked_until < now()))
           OR (status = 'queued' AND created_at < now() - interval '5 minutes')
        ORDER BY updated_at LIMIT 200`,
    );
  }

  async cancelRequested(id: string): Promise<boolean> {
    const r = await this.sql.one<{ cancel_requested: boolean }>(
      `SELECT cancel_requested FROM agent_activations WHERE id = $1`,
      [id],
    );
    return Boolean(r?.cancel_requested);
  }

  /** Saves a running activation's progress. */
  async save(id: string, fields: ActivationProgressFields): Promise<void> {
    const entries = Object.entries(fields);
    const sets = entries
      .map(([k], i) => `${SAVED_COLUMNS[k as keyof ActivationProgressFields]} = $${i + 2}`)
      .join(', ');
    const values = entries.map(([k, v]) =>
      k === 'steps' || k === 'intermediateResults' ? JSON.stringify(v) : v,
    );
    await this.sql.rows(`UPDATE agent_activations SET ${sets}, updated_at = now() WHERE id = $1`, [
      id,
      ...values,
    ]);
  }

  /** Ends a run as failed or cancelled. */
  /** Ends an activation that did not complete; a code activation keeps what it made (its change) as output. */
  async finish(
    id: string,
    status: EndStatus,
    steps: StepState[],
    error: string | null,
    kept?: { output: unknown; files: unknown },
  ): Promise<void> {
    await this.sql.rows(
      `UPDATE agent_activations SET status = $2, steps = $3, error = $4, current_step = NULL, locked_until = NULL,
              output = COALESCE($5, output), files = COALESCE($6, files),
              completed_at = now(), execution_ms = (extract(epoch FROM now() - started_at) * 1000)::int, updated_at = now()
        WHERE id = $1`,
      [
        id,
        status,
        JSON.stringify(steps),
        error,
        kept ? JSON.stringify(kept.output) : null,
        kept ? JSON.stringify(kept.files) : null,
      ],
    );
  }

  /** Which of the task's activations of this agent this is (1, 2, ...): the n of its branch name. */
  async ordinal(activationId: string): Promise<number> {
    const row = await this.sql.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM agent_activations o, agent_activations a
        WHERE a.id = $1 AND o.task_id = a.task_id AND o.agent_type = a.agent_type AND o.workflow = 'code'
          AND (o.created_at, o.id) <= (a.created_at, a.id)`,
      [activationId],
    );
    return row?.n ?? 1;
  }

  /** Ends a running activation as completed; its execution time, or undefined when it was not running. */
  async complete(
    manager: EntityManager,
    id: string,
    outcome: { output: unknown; files: unknown; results: unknown; tokens: number; model: string | null },
  ): Promise<{ execution_ms: number } | undefined> {
    return this.sql.one<{ execution_ms: number }>(
      `UPDATE agent_activations SET status = 'completed', output = $2, files = $3, intermediate_results = $4, tokens_used = $5, model_used = $6,
                progress = 100, current_step = NULL, locked_until = NULL, completed_at = now(),
                execution_ms = (extract(epoch FROM now() - started_at) * 1000)::int, updated_at = now()
          WHERE id = $1 AND status = 'processing' RETURNING execution_ms`,
      [
        id,
        JSON.stringify(outcome.output),
        JSON.stringify(outcome.files),
        JSON.stringify(outcome.results),
        outcome.tokens,
        outcome.model,
      ],
      manager,
    );
  }
}
