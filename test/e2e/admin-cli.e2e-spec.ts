import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/env';
import { ADMIN_PASSWORD, ADMIN_USERNAME, CLIENT_ID, CLIENT_SECRET, TestSystem } from '../support/system';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist', 'libs', 'users', 'src', 'admin-cli.js');

/** `npm run admin -- reset-password`: BOOTSTRAP_ADMIN_PASSWORD only applies to an empty database. */
describe('admin CLI: reset-password', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await TestSystem.start({ worker: false });
  });
  afterAll(() => system?.stop());

  const login = (password: string) =>
    system.http.post('/v2/auth/token').send({
      grant_type: 'password',
      username: ADMIN_USERNAME,
      password,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });

  it('sets the given password: the old one and the tokens issued before stop working', async () => {
    const before = await system.token({
      grant_type: 'password',
      username: ADMIN_USERNAME,
      password: ADMIN_PASSWORD,
    });
    expect((await system.http.get('/v2/auth/me').set('Authorization', `Bearer ${before}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100)); // tokens_valid_after has a second's resolution in iat

    const { stdout } = await run(process.execPath, [CLI, 'reset-password', '--password', 'NewAdmin12345'], {
      env: system.gatewayEnv,
      cwd: ROOT,
    });
    expect(stdout).toContain(`password of "${ADMIN_USERNAME}"`);

    expect((await login(ADMIN_PASSWORD)).status).toBe(400);
    expect((await login('NewAdmin12345')).status).toBe(200);
    expect((await system.http.get('/v2/auth/me').set('Authorization', `Bearer ${before}`)).status).toBe(401);
    const audit = await system.sql<{ action: string }>(
      `SELECT action FROM audit_logs WHERE action = 'user.password_reset'`,
    );
    expect(audit).toHaveLength(1);
  });

  it('generates and prints a password when none is given', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'reset-password'], {
      env: system.gatewayEnv,
      cwd: ROOT,
    });
    const password = /the new password: (\S+)/.exec(stdout)?.[1];
    expect(password).toBeDefined();
    expect((await login(password!)).status).toBe(200);
  });

  it('names an unknown user and exits non-zero', async () => {
    await expect(
      run(process.execPath, [CLI, 'reset-password', '--username', 'nobody_here'], {
        env: system.gatewayEnv,
        cwd: ROOT,
      }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no user "nobody_here"') });
  });
});
