import { Principal, Role } from '@app/core';
import { HistoryQueryDto, TasksModule, TasksService } from '@app/tasks';
import { IntegrationContext, rejection } from '../support/integration';

/** The task workflow through TasksService.changeStatus, with what it keeps: counts, stats, history. */
describe('TasksService: status workflow', () => {
  let ctx: IntegrationContext;
  let tasks: TasksService;
  let owner: Principal;
  let developer: Principal;
  let viewer: Principal;
  let project: { id: string; key: string };

  beforeAll(async () => {
    ctx = await IntegrationContext.start([TasksModule]);
    tasks = ctx.get(TasksService);
    owner = await ctx.user(Role.ProductManager);
    developer = await ctx.user(Role.Developer);
    viewer = await ctx.user(Role.Viewer);
    project = await ctx.project(owner, [developer, viewer]);
  });
  afterAll(() => ctx?.stop());

  const newTask = (title: string) => tasks.create(developer, project.id, { type: 'task', title });
  const move = (
    ref: string,
    status: 'todo' | 'in_progress' | 'review' | 'testing' | 'done',
    by = developer,
  ) => tasks.changeStatus(by, ref, { status, comment: `to ${status}` });
  const counts = async () =>
    Object.fromEntries(
      (
        await ctx.sql<{ status: string; count: number }>(
          `SELECT status, count FROM task_status_counts WHERE project_id = $1 AND count <> 0 ORDER BY status`,
          [project.id],
        )
      ).map((r) => [r.status, r.count]),
    );
  const completed = async () =>
    (
      await ctx.sql<{ completed_tasks: number }>(
        `SELECT completed_tasks FROM project_stats WHERE project_id = $1`,
        [project.id],
      )
    )[0].completed_tasks;

  it('moves one step forward at a time, and refuses a skip with the allowed targets', async () => {
    const task = await newTask('forward');
    expect(task.status).toBe('todo');
    expect(await rejection(move(task.key, 'review'))).toEqual({
      code: 'CONFLICT',
      status: 409,
      message: 'A task cannot move from todo to review',
      details: { from: 'todo', to: 'review', allowed: ['in_progress'] },
    });
    expect(await rejection(move(task.key, 'todo'))).toEqual(
      expect.objectContaining({
        code: 'CONFLICT',
        details: { from: 'todo', to: 'todo', allowed: ['in_progress'] },
      }),
    );
    for (const status of ['in_progress', 'review', 'testing', 'done'] as const)
      expect((await move(task.key, status)).status).toBe(status);
    expect(await rejection(move(task.key, 'in_progress'))).toEqual(
      expect.objectContaining({ details: { from: 'done', to: 'in_progress', allowed: ['todo', 'testing'] } }),
    );
  });

  it('goes back one step, or to todo from anywhere', async () => {
    const task = await newTask('back');
    await move(task.key, 'in_progress');
    await move(task.key, 'review');
    expect((await move(task.key, 'in_progress')).status).toBe('in_progress');
    await move(task.key, 'review');
    await move(task.key, 'testing');
    expect((await move(task.key, 'todo')).status).toBe('todo');
  });

  it('keeps the per-status counts and the completed count of the project with every move', async () => {
    const before = { counts: await counts(), completed: await completed() };
    const task = await newTask('counted');
    expect(await counts()).toEqual({ ...before.counts, todo: (before.counts.todo ?? 0) + 1 });
    for (const status of ['in_progress', 'review', 'testing', 'done'] as const) await move(task.key, status);
    expect(await completed()).toBe(before.completed + 1);
    expect(await counts()).toEqual({
      ...before.counts,
      done: (before.counts.done ?? 0) + 1,
    });
    await move(task.key, 'todo');
    expect(await completed()).toBe(before.completed);
    expect(await counts()).toEqual({ ...before.counts, todo: (before.counts.todo ?? 0) + 1 });
  });

  it('records each move with its comment and actor in the history, and not a refused one', async () => {
    const task = await newTask('history');
    await move(task.key, 'in_progress');
    await rejection(move(task.key, 'done'));
    await move(task.key, 'todo', owner);
    const page = await tasks.history(viewer, task.key, new HistoryQueryDto());
    expect(
      page.data
        .filter((e) => e.field === 'status')
        .map(({ from, to, comment, changedBy }) => ({ from, to, comment, changedBy })),
    ).toEqual([
      { from: 'todo', to: 'in_progress', comment: 'to in_progress', changedBy: developer.userId },
      { from: 'in_progress', to: 'todo', comment: 'to todo', changedBy: owner.userId },
    ]);
  });

  it('lets only members whose role writes tasks move them', async () => {
    const task = await newTask('rights');
    expect(await rejection(move(task.key, 'in_progress', viewer))).toEqual(
      expect.objectContaining({ code: 'FORBIDDEN', status: 403 }),
    );
    expect((await tasks.get(viewer, task.key)).status).toBe('todo');
  });
});
