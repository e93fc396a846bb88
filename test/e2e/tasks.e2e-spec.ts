import { eventually, expectEnvelope, TestSystem } from '../support/system';

type Session = { id: string; username: string; token: string };
const STATUSES = ['todo', 'in_progress', 'review', 'testing', 'done'] as const;
type Status = (typeof STATUSES)[number];
/** CONTRACT.md's table, written out: from -> the statuses it may move to. */
const WORKFLOW: Record<Status, Status[]> = {
  todo: ['in_progress'],
  in_progress: ['todo', 'review'],
  review: ['todo', 'in_progress', 'testing'],
  testing: ['todo', 'review', 'done'],
  done: ['todo', 'testing'],
};

describe('tasks: keys, lookup, filters, updates, workflow, history, access', () => {
  let system: TestSystem;
  let admin: string;
  let owner: Session; // product manager, owner
  let dev: Session; // developer, member
  let devops: Session; // devops, member (no tasks:write)
  let viewer: Session; // viewer, member
  let outsider: Session; // developer, no member
  let project: { id: string; key: string };
  let privateProject: { id: string; key: string };
  let otherProject: { id: string; key: string };

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
    admin = await system.adminToken();
    [owner, dev, devops, viewer, outsider] = await system.users(
      'product_manager',
      'developer',
      'devops',
      'viewer',
      'developer',
    );
    const make = (key: string, visibility: string) =>
      system.project(
        { key, ownerId: owner.id, members: [dev.id, devops.id, viewer.id], visibility },
        owner.token,
      );
    project = await make('ECOM', 'internal');
    privateProject = await make('SECRET', 'private');
    otherProject = await make('OTHER', 'internal');
  });
  afterAll(() => system?.stop());

  const as = (token: string) => system.as(token);
  const createTask = async (body: object, projectId = project.id, token = dev.token) =>
    (
      await as(token)
        .post(`/v2/projects/${projectId}/tasks`, { type: 'task', title: 'A task', ...body })
        .expect(201)
    ).body;

  it('creates the seed example (201 with the seed fields, key ECOM-1, reporter = caller)', async () => {
    const res = await as(dev.token)
      .post(`/v2/projects/${project.id}/tasks`, {
        type: 'story',
        title: '用户登录功能实现',
        description: '实现基于 JWT 的用户登录认证功能',
        assigneeId: owner.id,
        priority: 'high',
        storyPoints: 5,
        labels: ['backend', 'authentication'],
      })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^task_[0-9a-z]{16}$/),
      key: 'ECOM-1',
      projectId: project.id,
      type: 'story',
      title: '用户登录功能实现',
      description: '实现基于 JWT 的用户登录认证功能',
      status: 'todo',
      assigneeId: owner.id,
      reporterId: dev.id,
      priority: 'high',
      storyPoints: 5,
      parentTaskId: null,
      labels: ['backend', 'authentication'],
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
    const events = await system.sql<{ payload: { data: { action: string; task: { key: string } } } }>(
      `SELECT payload FROM outbox_messages WHERE payload->>'type' = 'task.updated'`,
    );
    expect(events.map((e) => [e.payload.data.action, e.payload.data.task.key])).toContainEqual([
      'created',
      'ECOM-1',
    ]);
    const stats = await as(dev.token).get(`/v2/projects/${project.id}`).expect(200);
    expect(stats.body.stats).toEqual(expect.objectContaining({ totalTasks: 1, completedTasks: 0 }));
  });

  it('finds a task by id and by key; a lower-case key is 422; unknown ids and keys are 404', async () => {
    const task = await createTask({ title: 'Find me' });
    const byId = await as(viewer.token).get(`/v2/tasks/${task.id}`).expect(200);
    const byKey = await as(viewer.token).get(`/v2/tasks/${task.key}`).expect(200);
    expect(byKey.body).toEqual(byId.body);
    const lower = await as(viewer.token).get(`/v2/tasks/${task.key.toLowerCase()}`).expect(422);
    expect(expectEnvelope(lower.body, 'VALIDATION_ERROR').details.fields).toEqual([
      expect.objectContaining({ field: 'taskId' }),
    ]);
    await as(viewer.token).get('/v2/tasks/ECOM-99999').expect(404);
    await as(viewer.token).get('/v2/tasks/task_doesnotexist000').expect(404);
    await as(viewer.token).get('/v2/tasks/whatever').expect(404);
  });

  it('allocates gap-free unique keys under 50 parallel creations', async () => {
    const p = await system.project(
      { name: 'Race', key: 'RACE', ownerId: owner.id, members: [dev.id] },
      owner.token,
    );
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        as(i % 2 ? dev.token : owner.token).post(`/v2/projects/${p.id}/tasks`, {
          type: 'task',
          title: `T${i}`,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const numbers = results.map((r) => Number(r.body.key.split('-')[1])).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const list = await as(dev.token).get(`/v2/projects/${p.id}/tasks?pageSize=1`).expect(200);
    expect(list.body.pagination.totalItems).toBe(50);
    const stats = await as(dev.token).get(`/v2/projects/${p.id}`).expect(200);
    expect(stats.body.stats.totalTasks).toBe(50);
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['a bad type', { type: 'feature' }, 'type'],
      ['a bad priority', { priority: 'urgent' }, 'priority'],
      ['no title', { title: '' }, 'title'],
      ['negative story points', { storyPoints: -1 }, 'storyPoints'],
      ['labels that are not strings', { labels: [1] }, 'labels'],
      ['an assignee who is no member', { assigneeId: 'OUTSIDER' }, 'assigneeId'],
      ['a parent in another project', { parentTaskId: 'OTHER_PARENT' }, 'parentTaskId'],
      ['an epic with a parent', { type: 'epic', parentTaskId: 'SAME_PARENT' }, 'parentTaskId'],
      ['a status on creation', { status: 'done' }, 'status'],
    ])('refuses %s with 422', async (_name, patch, field) => {
      const otherParent = await createTask({ title: 'elsewhere' }, otherProject.id, owner.token);
      const sameParent = await createTask({ title: 'parent here' });
      const body: Record<string, unknown> = { type: 'task', title: 'x', ...patch };
      if (body.assigneeId === 'OUTSIDER') body.assigneeId = outsider.id;
      if (body.parentTaskId === 'OTHER_PARENT') body.parentTaskId = otherParent.id;
      if (body.parentTaskId === 'SAME_PARENT') body.parentTaskId = sameParent.id;
      const before = await system.sql<{ n: number }>(
        `SELECT last_number AS n FROM task_counters WHERE project_id = $1`,
        [project.id],
      );
      const res = await as(dev.token).post(`/v2/projects/${project.id}/tasks`, body).expect(422);
      const fields = expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields as Array<{ field: string }>;
      expect(fields.map((f) => f.field)).toEqual([field]);
      const after = await system.sql<{ n: number }>(
        `SELECT last_number AS n FROM task_counters WHERE project_id = $1`,
        [project.id],
      );
      expect(after[0].n).toBe(before[0].n); // no number burnt
    });

    it('answers an unknown project with 404', async () => {
      await as(dev.token)
        .post('/v2/projects/prj_nothing000000000/tasks', { type: 'task', title: 'x' })
        .expect(404);
      await as(dev.token).get('/v2/projects/prj_nothing000000000/tasks').expect(404);
    });
  });

  describe('listing', () => {
    let p: { id: string };
    beforeAll(async () => {
      p = await system.project(
        { name: 'List', key: 'LIST', ownerId: owner.id, members: [dev.id, viewer.id] },
        owner.token,
      );
      const specs = [
        {
          type: 'bug',
          title: 'Crash on login',
          priority: 'critical',
          labels: ['backend'],
          assigneeId: dev.id,
        },
        {
          type: 'story',
          title: 'Checkout flow',
          description: 'pay with 100% discount',
          priority: 'high',
          labels: ['frontend'],
        },
        { type: 'task', title: 'Write docs', priority: 'low', labels: ['docs', 'backend'] },
        { type: 'bug', title: 'Typo in footer', priority: 'low', assigneeId: dev.id },
      ];
      for (const s of specs) await createTask(s, p.id);
      const [first] = (
        await as(dev.token).get(`/v2/projects/${p.id}/tasks?sortBy=key&sortOrder=asc`).expect(200)
      ).body.data;
      await as(dev.token).put(`/v2/tasks/${first.id}/status`, { status: 'in_progress' }).expect(200);
    });

    const keys = (res: { body: { data: Array<{ key: string }> } }) => res.body.data.map((t) => t.key);

    it('filters by status, type, assignee, priority, label and search, with exact totals', async () => {
      const url = `/v2/projects/${p.id}/tasks`;
      expect(keys(await as(viewer.token).get(`${url}?status=in_progress`).expect(200))).toEqual(['LIST-1']);
      const todo = await as(viewer.token).get(`${url}?status=todo&sortBy=key&sortOrder=asc`).expect(200);
      expect(keys(todo)).toEqual(['LIST-2', 'LIST-3', 'LIST-4']);
      expect(todo.body.pagination.totalItems).toBe(3);
      expect(
        keys(await as(viewer.token).get(`${url}?type=bug&sortBy=key&sortOrder=asc`).expect(200)),
      ).toEqual(['LIST-1', 'LIST-4']);
      expect(
        keys(await as(viewer.token).get(`${url}?assigneeId=${dev.id}&sortBy=key&sortOrder=asc`).expect(200)),
      ).toEqual(['LIST-1', 'LIST-4']);
      expect(
        keys(await as(viewer.token).get(`${url}?priority=low&sortBy=key&sortOrder=asc`).expect(200)),
      ).toEqual(['LIST-3', 'LIST-4']);
      expect(
        keys(await as(viewer.token).get(`${url}?label=backend&sortBy=key&sortOrder=asc`).expect(200)),
      ).toEqual(['LIST-1', 'LIST-3']);
      expect(keys(await as(viewer.token).get(`${url}?search=CHECKOUT`).expect(200))).toEqual(['LIST-2']);
      expect(
        keys(
          await as(viewer.token)
            .get(`${url}?search=${encodeURIComponent('100%')}`)
            .expect(200),
        ),
      ).toEqual(['LIST-2']);
      const combined = await as(viewer.token).get(`${url}?type=bug&status=todo`).expect(200);
      expect(keys(combined)).toEqual(['LIST-4']);
      expect(combined.body.pagination.totalItems).toBe(1);
    });

    it('sorts and pages (newest first by default)', async () => {
      const url = `/v2/projects/${p.id}/tasks`;
      const all = await as(viewer.token).get(url).expect(200);
      expect(keys(all)).toEqual(['LIST-4', 'LIST-3', 'LIST-2', 'LIST-1']);
      const page2 = await as(viewer.token).get(`${url}?pageSize=3&page=2`).expect(200);
      expect(keys(page2)).toEqual(['LIST-1']);
      expect(page2.body.pagination).toEqual({
        page: 2,
        pageSize: 3,
        totalItems: 4,
        totalPages: 2,
        hasNextPage: false,
        hasPrevPage: true,
      });
      expect(keys(await as(viewer.token).get(`${url}?sortBy=priority&sortOrder=desc`).expect(200))[0]).toBe(
        'LIST-1',
      );
    });

    it.each([['status=open'], ['type=feature'], ['priority=urgent'], ['sortBy=secret'], ['pageSize=500']])(
      'refuses %s with 422',
      async (q) => {
        await as(viewer.token).get(`/v2/projects/${p.id}/tasks?${q}`).expect(422);
      },
    );
  });

  describe('updates and parents', () => {
    it('updates fields, records each change in the history, and refuses a status change through PUT', async () => {
      const task = await createTask({ title: 'Before', priority: 'low' });
      const res = await as(dev.token)
        .put(`/v2/tasks/${task.key}`, { title: 'After', priority: 'high', assigneeId: dev.id, labels: ['x'] })
        .expect(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          title: 'After',
          priority: 'high',
          assigneeId: dev.id,
          labels: ['x'],
          status: 'todo',
        }),
      );
      await as(dev.token).put(`/v2/tasks/${task.id}`, { status: 'done' }).expect(422);
      await as(dev.token).put(`/v2/tasks/${task.id}`, { assigneeId: outsider.id }).expect(422);
      const cleared = await as(dev.token).put(`/v2/tasks/${task.id}`, { assigneeId: null }).expect(200);
      expect(cleared.body.assigneeId).toBeNull();
      const history = await as(viewer.token).get(`/v2/tasks/${task.id}/history`).expect(200);
      expect(
        history.body.data.map((h: { field: string; from: unknown; to: unknown }) => [h.field, h.from, h.to]),
      ).toEqual([
        ['created', null, 'todo'],
        ['title', 'Before', 'After'],
        ['assigneeId', null, dev.id],
        ['priority', 'low', 'high'],
        ['labels', [], ['x']],
        ['assigneeId', dev.id, null],
      ]);
      expect(history.body.data[1]).toEqual(
        expect.objectContaining({ changedBy: dev.id, changedAt: expect.stringMatching(/Z$/) }),
      );
    });

    it('keeps parents in the same project and refuses cycles', async () => {
      const epic = await createTask({ type: 'epic', title: 'Epic' });
      const story = await createTask({ type: 'story', title: 'Story', parentTaskId: epic.id });
      expect(story.parentTaskId).toBe(epic.id);
      const sub = await createTask({ title: 'Sub', parentTaskId: story.key });
      expect(sub.parentTaskId).toBe(story.id);
      await as(dev.token).put(`/v2/tasks/${story.id}`, { parentTaskId: sub.id }).expect(422); // cycle
      await as(dev.token).put(`/v2/tasks/${story.id}`, { parentTaskId: story.id }).expect(422); // itself
      await as(dev.token).put(`/v2/tasks/${epic.id}`, { parentTaskId: story.id }).expect(422); // an epic has no parent
      await as(dev.token).put(`/v2/tasks/${story.id}`, { type: 'epic' }).expect(422); // it has a parent
      const filtered = await as(dev.token)
        .get(`/v2/projects/${project.id}/tasks?parentTaskId=${story.id}`)
        .expect(200);
      expect(filtered.body.data.map((t: { id: string }) => t.id)).toEqual([sub.id]);
      await as(dev.token).delete(`/v2/tasks/${story.id}`).expect(204);
      const orphan = await as(dev.token).get(`/v2/tasks/${sub.id}`).expect(200);
      expect(orphan.body.parentTaskId).toBeNull();
    });
  });

  describe('workflow', () => {
    /** Walks a new task to `status` along allowed steps. */
    const taskAt = async (status: Status) => {
      const task = await createTask({ title: `at ${status}` });
      for (const s of STATUSES.slice(1, STATUSES.indexOf(status) + 1)) {
        await as(dev.token).put(`/v2/tasks/${task.id}/status`, { status: s }).expect(200);
      }
      return task;
    };
    const cases = STATUSES.flatMap((from) =>
      STATUSES.map((to) => [from, to, WORKFLOW[from].includes(to)] as const),
    );

    it.each(cases)('%s -> %s allowed: %s', async (from, to, allowed) => {
      const task = await taskAt(from);
      const res = await as(dev.token).put(`/v2/tasks/${task.id}/status`, { status: to, comment: `to ${to}` });
      if (allowed) {
        expect(res.status).toBe(200);
        expect(res.body.status).toBe(to);
      } else {
        expect(res.status).toBe(409);
        expect(expectEnvelope(res.body, 'CONFLICT').details).toEqual({ from, to, allowed: WORKFLOW[from] });
      }
    });

    it('records transitions with their comment, counts completed tasks and rejects a bad status', async () => {
      const p = await system.project(
        { name: 'Flow', key: 'FLOW', ownerId: owner.id, members: [dev.id] },
        owner.token,
      );
      const task = await createTask({ title: 'flow' }, p.id);
      for (const status of ['in_progress', 'review', 'testing', 'done'] as const) {
        await as(dev.token)
          .put(`/v2/tasks/${task.id}/status`, { status, comment: `now ${status}` })
          .expect(200);
      }
      expect((await as(dev.token).get(`/v2/projects/${p.id}`).expect(200)).body.stats).toEqual(
        expect.objectContaining({ totalTasks: 1, completedTasks: 1 }),
      );
      const history = await as(dev.token)
        .get(`/v2/tasks/${task.id}/history?sortOrder=desc&pageSize=1`)
        .expect(200);
      expect(history.body.data[0]).toEqual(
        expect.objectContaining({
          field: 'status',
          from: 'testing',
          to: 'done',
          comment: 'now done',
          changedBy: dev.id,
        }),
      );
      expect(history.body.pagination.totalItems).toBe(5);
      await as(dev.token).put(`/v2/tasks/${task.id}/status`, { status: 'todo' }).expect(200);
      expect((await as(dev.token).get(`/v2/projects/${p.id}`).expect(200)).body.stats.completedTasks).toBe(0);
      await as(dev.token).put(`/v2/tasks/${task.id}/status`, { status: 'closed' }).expect(422);
      const events = await system.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_messages WHERE payload->>'type' = 'task.updated' AND payload->'data'->>'action' = 'status_changed' AND payload->'data'->'task'->>'id' = $1`,
        [task.id],
      );
      expect(events[0].n).toBe(5);
    });
  });

  describe('access under a project', () => {
    it('hides tasks of a private project from non-members (404 even by key) but not from admins', async () => {
      const secret = await createTask({ title: 'classified' }, privateProject.id);
      await as(outsider.token).get(`/v2/tasks/${secret.id}`).expect(404);
      await as(outsider.token).get(`/v2/tasks/${secret.key}`).expect(404);
      await as(outsider.token).get(`/v2/tasks/${secret.id}/history`).expect(404);
      await as(outsider.token).get(`/v2/projects/${privateProject.id}/tasks`).expect(404);
      await as(outsider.token).put(`/v2/tasks/${secret.id}/status`, { status: 'in_progress' }).expect(404);
      await as(admin).get(`/v2/tasks/${secret.key}`).expect(200);
    });

    it('lets a non-member see tasks of an internal project but not change them (403)', async () => {
      const task = await createTask({ title: 'visible' });
      await as(outsider.token).get(`/v2/tasks/${task.id}`).expect(200);
      const res = await as(outsider.token).put(`/v2/tasks/${task.id}`, { title: 'mine now' }).expect(403);
      expectEnvelope(res.body, 'FORBIDDEN');
      await as(outsider.token)
        .post(`/v2/projects/${project.id}/tasks`, { type: 'task', title: 'x' })
        .expect(403);
    });

    it('refuses writes by members whose role lacks tasks:write (devops, viewer) with 403', async () => {
      const task = await createTask({ title: 'guarded' });
      await as(devops.token)
        .post(`/v2/projects/${project.id}/tasks`, { type: 'task', title: 'x' })
        .expect(403);
      await as(viewer.token).put(`/v2/tasks/${task.id}/status`, { status: 'in_progress' }).expect(403);
      await as(viewer.token).delete(`/v2/tasks/${task.id}`).expect(403);
      await as(devops.token).get(`/v2/tasks/${task.id}`).expect(200);
    });

    it('deletes a task (204): gone, counted out of the stats', async () => {
      const p = await system.project(
        { name: 'Del', key: 'DEL', ownerId: owner.id, members: [dev.id] },
        owner.token,
      );
      const task = await createTask({ title: 'bye' }, p.id);
      await as(dev.token).delete(`/v2/tasks/${task.key}`).expect(204);
      await as(dev.token).get(`/v2/tasks/${task.id}`).expect(404);
      await eventually(
        async () => (await as(dev.token).get(`/v2/projects/${p.id}`)).body.stats.totalTasks === 0,
      );
      expect(
        (await as(dev.token).get(`/v2/projects/${p.id}/tasks`).expect(200)).body.pagination.totalItems,
      ).toBe(0);
    });
  });
});
