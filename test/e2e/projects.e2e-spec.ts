import { expectEnvelope, TestSystem } from '../support/system';

type Session = { id: string; username: string; token: string };

describe('projects: creation, visibility, updates, archive, members', () => {
  let system: TestSystem;
  let admin: string;
  let pm: Session; // product manager: may create projects
  let owner: Session;
  let member: Session;
  let outsider: Session; // a product manager who is no member

  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
    admin = await system.adminToken();
    [pm, owner, member, outsider] = await system.users(
      'product_manager',
      'product_manager',
      'developer',
      'product_manager',
    );
  });
  afterAll(() => system?.stop());

  const as = (token: string) => system.as(token);
  let keySeq = 0;
  const newProject = async (visibility: string, extra: object = {}) => {
    const res = await as(pm.token)
      .post('/v2/projects', {
        name: `P ${visibility}`,
        key: `K${visibility.slice(0, 3).toUpperCase()}${++keySeq}`,
        ownerId: owner.id,
        members: [member.id],
        visibility,
        ...extra,
      })
      .expect(201);
    return res.body as { id: string; key: string };
  };

  it('creates the seed example (201 with the seed fields, owner first, zero stats) and writes project.created to the outbox', async () => {
    const res = await as(pm.token)
      .post('/v2/projects', {
        name: '电商后台管理系统',
        description: '新一代电商后台管理平台',
        key: 'ECOM',
        ownerId: owner.id,
        members: [member.id],
        visibility: 'internal',
      })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^prj_[0-9a-z]{16}$/),
      name: '电商后台管理系统',
      key: 'ECOM',
      description: '新一代电商后台管理平台',
      ownerId: owner.id,
      status: 'active',
      visibility: 'internal',
      members: [
        { userId: owner.id, role: 'owner' },
        { userId: member.id, role: 'member' },
      ],
      stats: { totalTasks: 0, completedTasks: 0, totalPRDs: 0, totalDeployments: 0 },
      repository: null,
      monthlyBudgetUsd: null,
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
    const events = await system.sql<{
      payload: { type: string; projectId: string; data: { project: { key: string } } };
    }>(
      `SELECT payload FROM outbox_messages WHERE name = 'event.fanout' AND payload->>'type' = 'project.created'`,
    );
    expect(events.map((e) => e.payload.data.project.key)).toContain('ECOM');
    expect(events.find((e) => e.payload.data.project.key === 'ECOM')!.payload.projectId).toBe(res.body.id);
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['a key with lower-case letters', { key: 'ecom2' }, 'key'],
      ['a one-letter key', { key: 'E' }, 'key'],
      ['a key too long', { key: 'ABCDEFGHIJK' }, 'key'],
      ['a bad visibility', { key: 'VIS1', visibility: 'secret' }, 'visibility'],
      ['no name', { key: 'NAME1', name: '' }, 'name'],
      ['an unknown owner', { key: 'OWN1', ownerId: 'usr_nobody0000000000' }, 'ownerId'],
      ['an unknown member', { key: 'MEM1', members: ['usr_nobody0000000000'] }, 'members[0]'],
    ])('refuses %s with 422', async (_name, patch, field) => {
      const before = await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM projects`);
      const res = await as(pm.token)
        .post('/v2/projects', Object.assign({ name: 'X', key: 'XX', ownerId: owner.id }, patch))
        .expect(422);
      const fields = expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields as Array<{ field: string }>;
      expect(fields.map((f) => f.field)).toEqual([field]);
      expect((await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM projects`))[0].n).toBe(
        before[0].n,
      );
    });

    it('answers a duplicate key with 409', async () => {
      const res = await as(pm.token)
        .post('/v2/projects', { name: 'Again', key: 'ECOM', ownerId: owner.id })
        .expect(409);
      expect(expectEnvelope(res.body, 'CONFLICT').details).toEqual({ field: 'key' });
    });

    it('lets only roles with projects:write create projects', async () => {
      await as(member.token)
        .post('/v2/projects', { name: 'Dev', key: 'DEVP', ownerId: member.id })
        .expect(403);
    });
  });

  describe('visibility', () => {
    let priv: { id: string }, internal: { id: string }, pub: { id: string };
    beforeAll(async () => {
      priv = await newProject('private');
      internal = await newProject('internal');
      pub = await newProject('public');
    });

    it('shows a private project to members and administrators only; others get 404', async () => {
      await as(member.token).get(`/v2/projects/${priv.id}`).expect(200);
      await as(owner.token).get(`/v2/projects/${priv.id}`).expect(200);
      await as(admin).get(`/v2/projects/${priv.id}`).expect(200);
      const res = await as(outsider.token).get(`/v2/projects/${priv.id}`).expect(404);
      expect(expectEnvelope(res.body, 'NOT_FOUND').details).toEqual({ resource: 'project', id: priv.id });
      await as(outsider.token).get(`/v2/projects/${priv.id}/members`).expect(404);
      await as(outsider.token).put(`/v2/projects/${priv.id}`, { name: 'x' }).expect(404);
    });

    it('shows internal and public projects to every user', async () => {
      await as(outsider.token).get(`/v2/projects/${internal.id}`).expect(200);
      await as(outsider.token).get(`/v2/projects/${pub.id}`).expect(200);
      const list = await as(outsider.token).get('/v2/projects?pageSize=100').expect(200);
      const ids = list.body.data.map((p: { id: string }) => p.id);
      expect(ids).toEqual(expect.arrayContaining([internal.id, pub.id]));
      expect(ids).not.toContain(priv.id);
      const adminList = await as(admin).get('/v2/projects?pageSize=100').expect(200);
      expect(adminList.body.data.map((p: { id: string }) => p.id)).toEqual(
        expect.arrayContaining([priv.id, internal.id, pub.id]),
      );
    });

    it('lets a visitor who is no member see but not change (403)', async () => {
      const res = await as(outsider.token)
        .put(`/v2/projects/${internal.id}`, { name: 'Hijacked' })
        .expect(403);
      expectEnvelope(res.body, 'FORBIDDEN');
      await as(outsider.token)
        .post(`/v2/projects/${internal.id}/members`, { userId: outsider.id })
        .expect(403);
    });

    it('filters the list by the caller’s role and by status', async () => {
      const owned = await as(owner.token).get('/v2/projects?role=owner&pageSize=100').expect(200);
      expect(owned.body.data.every((p: { ownerId: string }) => p.ownerId === owner.id)).toBe(true);
      expect(owned.body.data.length).toBeGreaterThanOrEqual(4);
      const asMember = await as(member.token).get('/v2/projects?role=member&pageSize=100').expect(200);
      expect(asMember.body.data.map((p: { id: string }) => p.id)).toEqual(
        expect.arrayContaining([priv.id, internal.id, pub.id]),
      );
      const none = await as(outsider.token).get('/v2/projects?role=member').expect(200);
      expect(none.body.data).toEqual([]);
      await as(owner.token).get('/v2/projects?role=boss').expect(422);
      await as(owner.token).get('/v2/projects?status=deleted').expect(422);
    });
  });

  describe('updates, ownership, archive', () => {
    it('lets a member with projects:write update; a member without it gets 403; the key is fixed', async () => {
      const p = await newProject('private');
      const res = await as(owner.token)
        .put(`/v2/projects/${p.id}`, { name: 'Renamed', description: 'd', visibility: 'internal' })
        .expect(200);
      expect(res.body).toEqual(
        expect.objectContaining({ name: 'Renamed', description: 'd', visibility: 'internal' }),
      );
      await as(member.token).put(`/v2/projects/${p.id}`, { name: 'No' }).expect(403);
      await as(owner.token).put(`/v2/projects/${p.id}`, { key: 'NEWKEY' }).expect(422);
    });

    it('transfers ownership: the new owner is listed as owner, the old one stays a member', async () => {
      const p = await newProject('private');
      const res = await as(owner.token).put(`/v2/projects/${p.id}`, { ownerId: pm.id }).expect(200);
      expect(res.body.ownerId).toBe(pm.id);
      expect(res.body.members).toEqual(
        expect.arrayContaining([
          { userId: pm.id, role: 'owner' },
          { userId: owner.id, role: 'member' },
        ]),
      );
      expect(res.body.members[0]).toEqual({ userId: pm.id, role: 'owner' });
    });

    it('archives with DELETE (204): still readable, listed as archived, read-only', async () => {
      const p = await newProject('internal');
      await as(owner.token).delete(`/v2/projects/${p.id}`).expect(204);
      const got = await as(owner.token).get(`/v2/projects/${p.id}`).expect(200);
      expect(got.body.status).toBe('archived');
      const archived = await as(owner.token).get('/v2/projects?status=archived&pageSize=100').expect(200);
      expect(archived.body.data.map((x: { id: string }) => x.id)).toContain(p.id);
      const change = await as(owner.token).put(`/v2/projects/${p.id}`, { name: 'x' }).expect(409);
      expectEnvelope(change.body, 'CONFLICT');
      await as(owner.token).post(`/v2/projects/${p.id}/tasks`, { type: 'task', title: 't' }).expect(409);
      await as(owner.token).delete(`/v2/projects/${p.id}`).expect(204); // idempotent
    });

    it('answers unknown projects with 404', async () => {
      await as(admin).get('/v2/projects/prj_nothing000000000').expect(404);
      await as(admin).put('/v2/projects/prj_nothing000000000', { name: 'x' }).expect(404);
      await as(admin).delete('/v2/projects/prj_nothing000000000').expect(404);
    });
  });

  describe('members', () => {
    it('lists, adds and removes members; the owner cannot be removed', async () => {
      const p = await newProject('private');
      const list = await as(member.token).get(`/v2/projects/${p.id}/members`).expect(200);
      expect(list.body.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
        [owner.id, 'owner'],
        [member.id, 'member'],
      ]);
      expect(list.body[0]).toEqual(
        expect.objectContaining({
          username: owner.username,
          fullName: expect.any(String),
          addedAt: expect.any(String),
        }),
      );

      const added = await as(owner.token)
        .post(`/v2/projects/${p.id}/members`, { userId: outsider.id })
        .expect(201);
      expect(added.body).toEqual(expect.objectContaining({ userId: outsider.id, role: 'member' }));
      await as(outsider.token).get(`/v2/projects/${p.id}`).expect(200);
      await as(owner.token).post(`/v2/projects/${p.id}/members`, { userId: outsider.id }).expect(409);
      await as(owner.token)
        .post(`/v2/projects/${p.id}/members`, { userId: 'usr_nobody0000000000' })
        .expect(422);
      await as(owner.token)
        .post(`/v2/projects/${p.id}/members`, { userId: outsider.id, role: 'owner' })
        .expect(422);

      const ownerRemoval = await as(owner.token)
        .delete(`/v2/projects/${p.id}/members/${owner.id}`)
        .expect(409);
      expectEnvelope(ownerRemoval.body, 'CONFLICT');
      await as(owner.token).delete(`/v2/projects/${p.id}/members/${outsider.id}`).expect(204);
      await as(outsider.token).get(`/v2/projects/${p.id}`).expect(404);
      await as(owner.token).delete(`/v2/projects/${p.id}/members/${outsider.id}`).expect(404);
    });
  });

  it('refuses to hard-delete a user who owns projects (409) and keeps the project intact', async () => {
    const res = await as(admin).delete(`/v2/users/${owner.id}?hard=true`).expect(409);
    expectEnvelope(res.body, 'CONFLICT');
    await as(admin).get(`/v2/users/${owner.id}`).expect(200);
  });
});
