import { Injectable } from '@nestjs/common';
import { AgentEvents, flowEventsChannel } from '@app/agents';
import { followRecord, iso, LiveEvents, Tx } from '@app/core';
import { FlowEventType } from './flow.entity';
import { FlowsRepository } from './flows.repository';

/** One event of a flow's stream: the flow's own, or one of its activations' (with its stage). */
export interface FlowStreamEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

export type FlowStreamItem = FlowStreamEvent | { heartbeat: true };

const PAGE = 200;
/** How long a quiet stream waits before reading the tables anyway (a lost message) and sending a heartbeat. */
const POLL_MS = 10_000;
const FINISHED = new Set(['completed', 'failed', 'rejected', 'cancelled']);

/**
 * A flow's events: its own (`stage`, `gate`, `merge`, `deployment`, `flow`) written with each
 * transition, and its activations' (`progress`, `log`, `step`, ...), one sequence numbering both.
 * Redis only wakes the readers; the tables are the record, so a reader that reconnects with
 * Last-Event-ID gets everything after it, in order.
 */
@Injectable()
export class FlowEvents {
  constructor(
    private readonly flows: FlowsRepository,
    private readonly agentEvents: AgentEvents,
    private readonly live: LiveEvents,
  ) {}

  /** Writes the event in the transition's transaction; readers are woken once it commits. */
  async append(tx: Tx, flowId: string, type: FlowEventType, data: Record<string, unknown>): Promise<void> {
    await this.flows.insertEvent(tx.manager, flowId, type, data);
    tx.afterCommit(() => this.live.publish(flowEventsChannel(flowId), type));
  }

  /** The flow's and its activations' events after `after`, in order, at most PAGE. */
  async after(flowId: string, after: string): Promise<{ events: FlowStreamEvent[]; more: boolean }> {
    const [own, stages] = await Promise.all([
      this.flows.events(flowId, after, PAGE),
      this.agentEvents.ofFlow(flowId, after, PAGE),
    ]);
    // A full page of one kind ends where it ends: the other's later events come in the next read.
    const full = [own, stages]
      .filter((rows) => rows.length === PAGE)
      .map((rows) => BigInt(rows[rows.length - 1].id));
    const limit = full.length ? full.reduce((a, b) => (a < b ? a : b)) : null;
    const events: FlowStreamEvent[] = [
      ...own.map((e) => ({
        id: String(e.id),
        event: e.type === 'flow' ? `flow.${String(e.data.status)}` : e.type,
        data: { ...e.data, timestamp: iso(e.created_at) },
      })),
      ...stages.map((e) => ({
        id: e.id,
        event: e.type,
        data: {
          ...e.data,
          activationId: e.activationId,
          stage: null as string | null,
          timestamp: e.createdAt,
        },
      })),
    ]
      .filter((e) => limit === null || BigInt(e.id) <= limit)
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return { events, more: limit !== null };
  }

  /**
   * Every event after `after`, then the new ones as they come, until the flow's end or `signal`:
   * the end is the flow's own last word that it finished while it still has (one taken up again,
   * a stage run again after a failure, goes on), or a quiet read of a finished flow. `stageOf`
   * names an activation's stage (it may re-read the flow for a stage started since).
   */
  stream(
    flowId: string,
    after: string,
    signal: AbortSignal,
    stageOf: (activationId: string) => Promise<string | undefined>,
  ): AsyncGenerator<FlowStreamItem> {
    const names = new Map<string, string | undefined>();
    let ended = false;
    return followRecord<FlowStreamEvent>({
      live: this.live,
      channel: flowEventsChannel(flowId),
      after,
      signal,
      idleMs: POLL_MS,
      read: async (last) => {
        const { events, more } = await this.after(flowId, last);
        for (const e of events) {
          const activationId = e.data.activationId;
          if (e.data.stage === null && typeof activationId === 'string') {
            if (!names.get(activationId)) names.set(activationId, await stageOf(activationId));
            e.data.stage = names.get(activationId) ?? null;
          }
        }
        return { items: events, more };
      },
      over: async (events) => {
        for (const e of events) if (e.event.startsWith('flow.')) ended = FINISHED.has(String(e.data.status));
        if (!ended && events.length) return false;
        const now = await this.flows.find(flowId);
        return !now || FINISHED.has(now.status);
      },
    });
  }
}
