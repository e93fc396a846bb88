import { CLIENT_ID, CLIENT_SECRET, eventually, expectEnvelope, TestSystem } from '../support/system';

describe('users: CRUD, filters, statuses, deletion, audit log, idempotency', () => {
  let system: TestSystem;
  let admin: string;

  beforeAll(async () => {
    system = await TestSystem.start();
    admin = await system.adminToken();
  });
  afterAll(() => system?.stop());

  const as = (token: string) => system.as(token);

  describe('the seed examples', () => {
    let createdId: string;

    it('POST /users creates wangwu as the seed shows (201, pending verification)', async () => {
      const res = await as(admin)
        .post('/v2/users', {
          username: 'wangwu',
          email: 'wangwu@example.com',
          password: 'SecurePass123!',
          fullName: '王五',
          role: 'tester',
          department: '质量保障部',
        })
        .expect(201);
      expect(res.body).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(/^usr_[0-9a-z]{16}$/),
          username: 'wangwu',
          email: 'wangwu@example.com',
          fullName: '王五',
          role: 'tester',
          status: 'pending_verification',
          department: '质量保障部',
          createdAt: expect.stringMatching(/Z$/),
          verificationEmailSent: false,
        }),
      );
      expect(res.body).not.toHaveProperty('password');
      expect(res.body).not.toHaveProperty('passwordHash');
      createdId = res.body.id;
      const stored = await system.sql<{ password_hash: string }>(
        `SELECT password_hash FROM users WHERE id = $1`,
        [createdId],
      );
      expect(stored[0].password_hash).toMatch(/^\$argon2id\$/);
    });

    it('GET /users?page=1&pageSize=20&role=tester lists with the seed pagination block', async () => {
      const res = await as(admin).get('/v2/users?page=1&pageSize=20&role=tester').expect(200);
      expect(res.body.data.map((u: { username: string }) => u.username)).toEqual(['wangwu']);
      expect(res.body.pagination).toEqual({
        page: 1,
        pageSize: 20,
        totalItems: 1,
        totalPages: 1,
        hasNextPage: false,
        hasPrevPage: false,
      });
      expect(Object.keys(res.body.data[0])).toEqual(
        expect.arrayContaining([
          'id',
          'username',
          'email',
          'fullName',
          'role',
          'status',
          'avatar',
          'department',
          'createdAt',
          'lastLoginAt',
        ]),
      );
    });

    it('GET /users/{userId} returns the user', async () => {
      const res = await as(admin).get(`/v2/users/${createdId}`).expect(200);
      expect(res.body.username).toBe('wangwu');
    });

    it('PUT /users/{userId} with the seed body updates name, department and role', async () => {
      const res = await as(admin)
        .put(`/v2/users/${createdId}`, { fullName: '张三丰', department: '架构组', role: 'architect' })
        .expect(200);
      expect(res.body).toEqual(
        expect.objectContaining({ fullName: '张三丰', department: '架构组', role: 'architect' }),
      );
      const log = await as(admin).get(`/v2/audit-logs?targetId=${createdId}`).expect(200);
      expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
        'user.role_changed',
        'user.created',
      ]);
      expect(log.body.data[0].details).toEqual({
        before: { fullName: '王五', department: '质量保障部', role: 'tester' },
        after: { fullName: '张三丰', department: '架构组', role: 'architect' },
      });
    });

    it('DELETE /users/{userId} soft-deletes (204): hidden, unreadable, audited', async () => {
      await as(admin).delete(`/v2/users/${createdId}`).expect(204);
      const res = await as(admin).get(`/v2/users/${createdId}`).expect(404);
      expect(expectEnvelope(res.body, 'NOT_FOUND').details).toEqual({ resource: 'user', id: createdId });
      const list = await as(admin).get('/v2/users?search=wangwu').expect(200);
      expect(list.body.data).toEqual([]);
      const rows = await system.sql(`SELECT deleted_at FROM users WHERE id = $1`, [createdId]);
      expect(rows[0].deleted_at).not.toBeNull();
      const log = await as(admin).get(`/v2/audit-logs?action=user.deleted&targetId=${createdId}`).expect(200);
      expect(log.body.data).toHaveLength(1);
    });
  });

  describe('listing', () => {
    beforeAll(async () => {
      for (const [username, fullName, role] of [
        ['alice_l', 'Alice Liddell', 'developer'],
        ['bob_l', 'Bob Builder', 'devops'],
        ['carol_l', 'Carol 100%', 'viewer'],
      ]) {
        await as(admin)
          .post('/v2/users', {
            username,
            email: `${username}@list.example.com`,
            password: 'ListPass123',
            fullName,
            role,
          })
          .expect(201);
      }
    });

    it('filters by status and searches username, e-mail and full name', async () => {
      const pending = await as(admin)
        .get('/v2/users?status=pending_verification&search=list.example.com')
        .expect(200);
      expect(pending.body.data).toHaveLength(3);
      const byName = await as(admin).get('/v2/users?search=builder').expect(200);
      expect(byName.body.data.map((u: { username: string }) => u.username)).toEqual(['bob_l']);
      const literal = await as(admin)
        .get(`/v2/users?search=${encodeURIComponent('100%')}`)
        .expect(200);
      expect(literal.body.data.map((u: { username: string }) => u.username)).toEqual(['carol_l']);
      const wildcard = await as(admin)
        .get(`/v2/users?search=${encodeURIComponent('_l')}`)
        .expect(200);
      expect(wildcard.body.data.map((u: { username: string }) => u.username).sort()).toEqual([
        'alice_l',
        'bob_l',
        'carol_l',
      ]);
    });

    it('sorts by a whitelisted field and pages', async () => {
      const page1 = await as(admin)
        .get('/v2/users?search=list.example.com&sortBy=username&sortOrder=asc&pageSize=2')
        .expect(200);
      expect(page1.body.data.map((u: { username: string }) => u.username)).toEqual(['alice_l', 'bob_l']);
      expect(page1.body.pagination).toEqual({
        page: 1,
        pageSize: 2,
        totalItems: 3,
        totalPages: 2,
        hasNextPage: true,
        hasPrevPage: false,
      });
      const page2 = await as(admin)
        .get('/v2/users?search=list.example.com&sortBy=username&sortOrder=asc&pageSize=2&page=2')
        .expect(200);
      expect(page2.body.data.map((u: { username: string }) => u.username)).toEqual(['carol_l']);
      expect(page2.body.pagination.hasPrevPage).toBe(true);
    });

    it.each([
      ['sortBy=passwordHash', 'sortBy'],
      ['pageSize=101', 'pageSize'],
      ['page=0', 'page'],
      ['role=king', 'role'],
      ['status=deleted', 'status'],
      ['sortOrder=up', 'sortOrder'],
    ])('refuses %s with 422 naming the field', async (query, field) => {
      const res = await as(admin).get(`/v2/users?${query}`).expect(422);
      const error = expectEnvelope(res.body, 'VALIDATION_ERROR');
      expect((error.details.fields as Array<{ field: string }>).map((f) => f.field)).toEqual([field]);
    });
  });

  describe('creation rules', () => {
    it('refuses bad input with 422 and every field named, and creates nothing', async () => {
      const before = await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
      const res = await as(admin)
        .post('/v2/users', {
          username: 'x',
          email: 'not-an-email',
          password: 'short',
          fullName: '',
          role: 'king',
        })
        .expect(422);
      const fields = (
        expectEnvelope(res.body, 'VALIDATION_ERROR').details.fields as Array<{ field: string; code: string }>
      )
        .map((f) => f.field)
        .sort();
      expect(fields).toEqual(['email', 'fullName', 'password', 'role', 'username']);
      const after = await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
      expect(after[0].n).toBe(before[0].n);
    });

    it('answers a duplicate username or e-mail (any case) with 409 CONFLICT', async () => {
      await as(admin)
        .post('/v2/users', {
          username: 'dup_user',
          email: 'dup@example.com',
          password: 'DupPass123',
          fullName: 'Dup',
        })
        .expect(201);
      const sameName = await as(admin).post('/v2/users', {
        username: 'DUP_USER',
        email: 'other@example.com',
        password: 'DupPass123',
        fullName: 'Dup',
      });
      expect(sameName.status).toBe(409);
      expect(expectEnvelope(sameName.body, 'CONFLICT').details).toEqual({ field: 'username' });
      const sameMail = await as(admin).post('/v2/users', {
        username: 'dup_user2',
        email: 'DUP@example.com',
        password: 'DupPass123',
        fullName: 'Dup',
      });
      expect(sameMail.status).toBe(409);
      expect(sameMail.body.error.details).toEqual({ field: 'email' });
    });

    it('defaults the role to developer', async () => {
      const res = await as(admin)
        .post('/v2/users', {
          username: 'default_role',
          email: 'dr@example.com',
          password: 'DefRole123',
          fullName: 'D R',
        })
        .expect(201);
      expect(res.body.role).toBe('developer');
    });
  });

  describe('Idempotency-Key', () => {
    const body = {
      username: 'idem_user',
      email: 'idem@example.com',
      password: 'IdemPass123',
      fullName: 'Idem',
    };

    it('replays the first response for the same key and body, creating one user', async () => {
      const first = await as(admin)
        .post('/v2/users', body)
        .set('Idempotency-Key', 'create-idem-1')
        .expect(201);
      const second = await as(admin)
        .post('/v2/users', body)
        .set('Idempotency-Key', 'create-idem-1')
        .expect(201);
      expect(second.body).toEqual(first.body);
      expect(second.headers['idempotent-replayed']).toBe('true');
      const rows = await system.sql(`SELECT id FROM users WHERE username = 'idem_user'`);
      expect(rows).toHaveLength(1);
    });

    it('answers the same key with another body with 422', async () => {
      const res = await as(admin)
        .post('/v2/users', { ...body, fullName: 'Someone else' })
        .set('Idempotency-Key', 'create-idem-1');
      expect(res.status).toBe(422);
      expectEnvelope(res.body, 'VALIDATION_ERROR');
    });

    it('answers a concurrent duplicate with 409 or a replay, never a second user', async () => {
      const b = {
        username: 'idem_race',
        email: 'race@example.com',
        password: 'IdemPass123',
        fullName: 'Race',
      };
      const results = await Promise.all(
        [1, 2, 3].map(() => as(admin).post('/v2/users', b).set('Idempotency-Key', 'race-key')),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      expect(await system.sql(`SELECT id FROM users WHERE username = 'idem_race'`)).toHaveLength(1);
    });

    it('lets a key be retried after the first attempt failed', async () => {
      await as(admin)
        .post('/v2/users', { ...body, username: 'x' })
        .set('Idempotency-Key', 'fails-first')
        .expect(422);
      const ok = await as(admin)
        .post('/v2/users', { ...body, username: 'idem_retry', email: 'retry@example.com' })
        .set('Idempotency-Key', 'fails-first');
      expect(ok.status).toBe(201);
    });
  });

  describe('self-service and administration', () => {
    it('lets a user read and edit their own profile but not their role, nor other users', async () => {
      const dev = await system.userWithRole('developer');
      const other = await system.userWithRole('tester');
      const me = await as(dev.token).get('/v2/users/me').expect(200);
      expect(me.body.id).toBe(dev.id);
      const edited = await as(dev.token)
        .put(`/v2/users/${dev.id}`, { fullName: 'New Name', department: 'R&D' })
        .expect(200);
      expect(edited.body.fullName).toBe('New Name');
      const promote = await as(dev.token).put(`/v2/users/${dev.id}`, { role: 'admin' });
      expect(promote.status).toBe(403);
      expect(expectEnvelope(promote.body, 'FORBIDDEN').details.fields).toEqual(['role']);
      await as(dev.token).put(`/v2/users/${other.id}`, { fullName: 'Hacked' }).expect(403);
      await as(dev.token).put(`/v2/users/${dev.id}`, { password: 'NewPass123' }).expect(422);
    });

    it('does not let an administrator delete, demote or suspend themselves', async () => {
      const { body } = await as(admin).get('/v2/users/me').expect(200);
      await as(admin).delete(`/v2/users/${body.id}`).expect(409);
      await as(admin).put(`/v2/users/${body.id}`, { role: 'viewer' }).expect(409);
      await as(admin).put(`/v2/users/${body.id}`, { status: 'suspended' }).expect(409);
    });

    it('answers unknown users with 404 on every user route', async () => {
      await as(admin).get('/v2/users/usr_doesnotexist0000').expect(404);
      await as(admin).put('/v2/users/usr_doesnotexist0000', { fullName: 'x' }).expect(404);
      await as(admin).delete('/v2/users/usr_doesnotexist0000').expect(404);
      await as(admin).post('/v2/users/usr_doesnotexist0000/resend-verification').expect(404);
    });

    it('blocks sign-in of a soft-deleted user; a hard delete removes the row and keeps the audit entry', async () => {
      const user = await system.userWithRole('tester');
      await as(admin).delete(`/v2/users/${user.id}`).expect(204);
      const login = await system.http.post('/v2/auth/token').send({
        grant_type: 'password',
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        username: user.username,
        password: user.password,
      });
      expect(login.status).toBe(400);
      const again = await system.userWithRole('tester');
      await as(admin).delete(`/v2/users/${again.id}?hard=true`).expect(204);
      expect(await system.sql(`SELECT id FROM users WHERE id = $1`, [again.id])).toHaveLength(0);
      const log = await as(admin)
        .get(`/v2/audit-logs?targetId=${again.id}&action=user.hard_deleted`)
        .expect(200);
      expect(log.body.data[0]).toEqual(
        expect.objectContaining({
          targetType: 'user',
          details: expect.objectContaining({ username: again.username, hard: true }),
        }),
      );
      await as(admin).delete(`/v2/users/${again.id}?hard=maybe`).expect(422);
    });

    it('changes a password: the current one is checked, older tokens stop working, the new one signs in', async () => {
      const user = await system.userWithRole('developer');
      const wrong = await as(user.token).put('/v2/users/me/password', {
        currentPassword: 'Nope12345',
        newPassword: 'Brand2New2',
      });
      expect(wrong.status).toBe(422);
      const weak = await as(user.token).put('/v2/users/me/password', {
        currentPassword: user.password,
        newPassword: 'weak',
      });
      expect(weak.status).toBe(422);
      await new Promise((r) => setTimeout(r, 1100)); // token iat and the change fall in different seconds
      await as(user.token)
        .put('/v2/users/me/password', { currentPassword: user.password, newPassword: 'Brand2New2' })
        .expect(204);
      await eventually(async () => (await as(user.token).get('/v2/auth/me')).status === 401, 1500, 20);
      const token = await system.token({
        grant_type: 'password',
        username: user.username,
        password: 'Brand2New2',
      });
      await as(token).get('/v2/auth/me').expect(200);
    });

    it('sets the rate-limit tier (admin only)', async () => {
      const user = await system.userWithRole('developer');
      const res = await as(admin).put(`/v2/users/${user.id}`, { tier: 'pro' }).expect(200);
      expect(res.body.tier).toBe('pro');
      await eventually(async () => (await as(user.token).get('/v2/auth/me')).body.tier === 'pro', 1500, 20);
      await as(user.token).put(`/v2/users/${user.id}`, { tier: 'enterprise' }).expect(403);
    });
  });

  describe('e-mail verification', () => {
    it('refuses an invalid token with 422', async () => {
      const res = await system.http
        .post('/v2/users/verify-email')
        .send({ token: 'definitely-not-valid' })
        .expect(422);
      expectEnvelope(res.body, 'VALIDATION_ERROR');
    });

    it('resends verification for a pending user and refuses it for a verified one', async () => {
      const pending = await as(admin)
        .post('/v2/users', {
          username: 'resend_me',
          email: 'resend@example.com',
          password: 'Resend123',
          fullName: 'R',
        })
        .expect(201);
      const res = await as(admin).post(`/v2/users/${pending.body.id}/resend-verification`).expect(200);
      expect(res.body).toEqual({ verificationEmailSent: false });
      const mails = await system.sql(`SELECT id FROM mails WHERE "to" = 'resend@example.com'`);
      expect(mails).toHaveLength(2);
      const adminMe = await as(admin).get('/v2/users/me').expect(200);
      await as(admin).post(`/v2/users/${adminMe.body.id}/resend-verification`).expect(409);
    });
  });
});
