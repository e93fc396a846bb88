import { Injectable, Logger } from '@nestjs/common';
import { DomainEvent, EventType } from '../queues/job-catalogue';

type Listener = (event: DomainEvent) => Promise<unknown>;

/**
 * In-process listeners to the domain events a worker fans out (after the event's transaction
 * committed): a higher library reacts to what a lower one did without the lower one knowing it
 * (a flow moves on when its change is merged). A listener's failure is logged, never retried:
 * what listens must also find out on its own (a sweep), as events may be missed in a crash.
 */
@Injectable()
export class DomainEventListeners {
  private readonly logger = new Logger(DomainEventListeners.name);
  private readonly listeners = new Map<EventType, Listener[]>();

  on(types: readonly EventType[], listener: Listener): void {
    for (const type of types) this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  async notify(event: DomainEvent): Promise<void> {
    for (const listener of this.listeners.get(event.type) ?? [])
      await listener(event).catch((err: Error) =>
        this.logger.warn(`a listener to ${event.type} ${event.id} failed: ${err.message}`),
      );
  }
}
