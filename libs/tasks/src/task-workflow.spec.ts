import { allowedTransitions, canTransition, TASK_STATUSES, TaskStatus } from './task-workflow';

describe('task workflow', () => {
  const table: Record<TaskStatus, TaskStatus[]> = {
    todo: ['in_progress'],
    in_progress: ['todo', 'review'],
    review: ['todo', 'in_progress', 'testing'],
    testing: ['todo', 'review', 'done'],
    done: ['todo', 'testing'],
  };

  it.each(TASK_STATUSES)('from %s allows exactly the next step, one step back and todo', (from) => {
    expect(allowedTransitions(from)).toEqual(table[from]);
  });

  it('never allows staying put or skipping a step', () => {
    for (const from of TASK_STATUSES) {
      expect(canTransition(from, from)).toBe(false);
    }
    expect(canTransition('todo', 'review')).toBe(false);
    expect(canTransition('in_progress', 'done')).toBe(false);
    expect(canTransition('done', 'review')).toBe(false);
  });

  it('lets every status go back to todo except todo itself', () => {
    for (const from of TASK_STATUSES.filter((s) => s !== 'todo'))
      expect(canTransition(from, 'todo')).toBe(true);
  });
});
