import { DomainEvent } from '../queues/job-catalogue';
import { DomainEventListeners } from './domain-event-listeners';

const event = (type: DomainEvent['type']): DomainEvent => ({
  id: 'event_x',
  type,
  occurredAt: '2026-01-01T00:00:00.000Z',
  projectId: null,
  data: {},
});

describe('DomainEventListeners', () => {
  it('calls the listeners of the event type, in order, and no others', async () => {
    const listeners = new DomainEventListeners();
    const heard: string[] = [];
    listeners.on(['change.merged', 'deployment.success'], async (e) => void heard.push(`a ${e.type}`));
    listeners.on(['change.merged'], async (e) => void heard.push(`b ${e.type}`));
    await listeners.notify(event('change.merged'));
    await listeners.notify(event('deployment.success'));
    await listeners.notify(event('task.updated'));
    expect(heard).toEqual(['a change.merged', 'b change.merged', 'a deployment.success']);
  });

  it("a listener's failure is logged and stops neither the others nor the caller", async () => {
    const listeners = new DomainEventListeners();
    const heard: string[] = [];
    listeners.on(['change.merged'], () => Promise.reject(new Error('down')));
    listeners.on(['change.merged'], async () => void heard.push('second'));
    await expect(listeners.notify(event('change.merged'))).resolves.toBeUndefined();
    expect(heard).toEqual(['second']);
  });
});
