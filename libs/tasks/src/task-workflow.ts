/** The task statuses, in workflow order. */
export const TASK_STATUSES = ['todo', 'in_progress', 'review', 'testing', 'done'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/**
 * CONTRACT.md's workflow: todo -> in_progress -> review -> testing -> done; each step may go
 * back one step, and any state may go back to todo. Staying put is not a transition.
 */
export function allowedTransitions(from: TaskStatus): TaskStatus[] {
  const i = TASK_STATUSES.indexOf(from);
  const targets = new Set<TaskStatus>();
  if (i + 1 < TASK_STATUSES.length) targets.add(TASK_STATUSES[i + 1]);
  if (i - 1 >= 0) targets.add(TASK_STATUSES[i - 1]);
  targets.add('todo');
  targets.delete(from);
  return TASK_STATUSES.filter((s) => targets.has(s));
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return allowedTransitions(from).includes(to);
}
