import { SMTPServer } from 'smtp-server';
import { CLIENT_ID, CLIENT_SECRET, eventually, freePort, TestSystem } from '../support/system';

/** A real SMTP receiver on loopback; can refuse the first N messages to an address, to exercise retries. */
class MailCatcher {
  readonly messages: string[] = [];
  readonly refuse = new Map<string, number>();
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, callback) => {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
        stream.on('end', () => {
          const address = [...this.refuse.keys()].find((a) => data.includes(a));
          if (address && this.refuse.get(address)! > 0) {
            this.refuse.set(address, this.refuse.get(address)! - 1);
            const err = new Error('try again later') as Error & { responseCode: number };
            err.responseCode = 451;
            return callback(err);
          }
          this.messages.push(data);
          callback();
        });
      },
    });
  }

  async start(): Promise<void> {
    this.port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  tokenFor(address: string): string | null {
    const message = this.messages.find((m) => m.includes(address));
    const text = message?.replace(/=\r?\n/g, '');
    return text?.match(/Verification token: ([A-Za-z0-9_-]+)/)?.[1] ?? null;
  }
}

describe('mail through the worker, and the outbox surviving crashes', () => {
  const smtp = new MailCatcher();
  let system: TestSystem;
  let admin: string;

  beforeAll(async () => {
    await smtp.start();
    system = await TestSystem.start({ env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` } });
    admin = await system.adminToken();
  });
  afterAll(async () => {
    await system?.stop();
    await smtp.stop();
  });

  const createUser = (username: string) =>
    system.http
      .post('/v2/users')
      .auth(admin, { type: 'bearer' })
      .send({ username, email: `${username}@mail.example.com`, password: 'MailPass123', fullName: username })
      .expect(201);

  it('sends the verification mail by SMTP from the worker; its token activates the account', async () => {
    const created = await createUser('mail_user');
    expect(created.body.verificationEmailSent).toBe(true);
    const token = await eventually(async () => smtp.tokenFor('mail_user@mail.example.com'));
    const [mail] = await system.sql<{ status: string }>(
      `SELECT status FROM mails WHERE "to" = 'mail_user@mail.example.com'`,
    );
    expect(mail.status).toBe('sent');
    const verified = await system.http.post('/v2/users/verify-email').send({ token }).expect(200);
    expect(verified.body).toEqual(expect.objectContaining({ status: 'active', emailVerified: true }));
    await system.http
      .post('/v2/auth/token')
      .send({
        grant_type: 'password',
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        username: 'mail_user',
        password: 'MailPass123',
      })
      .expect(200);
    await system.http.post('/v2/users/verify-email').send({ token }).expect(422); // single use
  });

  it('carries the request id from the HTTP request into the job', async () => {
    await system.http
      .post('/v2/users')
      .auth(admin, { type: 'bearer' })
      .set('X-Request-Id', 'trace-mail-42')
      .send({ username: 'traced', email: 'traced@mail.example.com', password: 'MailPass123', fullName: 'T' })
      .expect(201);
    const [row] = await system.sql<{ request_id: string }>(
      `SELECT request_id FROM outbox_messages WHERE payload->>'mailId' = (SELECT id FROM mails WHERE "to" = 'traced@mail.example.com')`,
    );
    expect(row.request_id).toBe('trace-mail-42');
    const [audit] = await system.sql<{ request_id: string }>(
      `SELECT request_id FROM audit_logs WHERE action = 'user.created' AND details->>'username' = 'traced'`,
    );
    expect(audit.request_id).toBe('trace-mail-42');
  });

  it('retries a mail the SMTP server refused, with backoff, until it is sent', async () => {
    smtp.refuse.set('retry_user@mail.example.com', 1);
    await createUser('retry_user');
    await eventually(async () => smtp.tokenFor('retry_user@mail.example.com'), 15000);
    // The worker records the sending after the SMTP server has the mail: wait for that commit.
    const mail = await eventually(async () => {
      const [row] = await system.sql<{ status: string; attempts: number }>(
        `SELECT status, attempts FROM mails WHERE "to" = 'retry_user@mail.example.com'`,
      );
      return row?.status === 'sent' ? row : null;
    }, 5000);
    expect(mail).toEqual({ status: 'sent', attempts: 2 });
  });

  it('loses no mail when the worker is killed: the job waits in Redis and runs when a worker is back', async () => {
    await system.worker.kill('SIGKILL');
    await createUser('while_down');
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.tokenFor('while_down@mail.example.com')).toBeNull();
    const [queued] = await system.sql<{ status: string }>(
      `SELECT status FROM mails WHERE "to" = 'while_down@mail.example.com'`,
    );
    expect(queued.status).toBe('queued');
    await system.worker.start();
    await eventually(async () => smtp.tokenFor('while_down@mail.example.com'), 15000);
  });

  it('relays an outbox row whose after-commit kick never happened (gateway died after COMMIT)', async () => {
    // What a gateway leaves behind if it dies between COMMIT and the relay: rows, no job.
    await system.sql(
      `INSERT INTO mails (id, "to", subject, text, purpose) VALUES ('mail_orphan0000000001', 'orphan@mail.example.com', 'Hi', 'Verification token: orphan-token-xyz', 'test')`,
    );
    await system.sql(
      `INSERT INTO outbox_messages (queue, name, payload) VALUES ('mail', 'mail.send', '{"mailId":"mail_orphan0000000001"}')`,
    );
    await eventually(async () => smtp.messages.some((m) => m.includes('orphan@mail.example.com')), 10000);
    // The sweep marks the row after the queue took the job, in the same transaction: the mail may
    // go out before that commit is visible.
    await eventually(async () => {
      const [row] = await system.sql<{ dispatched: boolean }>(
        `SELECT dispatched_at IS NOT NULL AS dispatched FROM outbox_messages WHERE payload->>'mailId' = 'mail_orphan0000000001'`,
      );
      return row.dispatched;
    }, 5000);
  });

  it('delivers each mail once even when its outbox row is relayed twice', async () => {
    await createUser('once_only');
    await eventually(async () => smtp.tokenFor('once_only@mail.example.com'));
    const [mail] = await system.sql<{ id: string }>(
      `SELECT id FROM mails WHERE "to" = 'once_only@mail.example.com'`,
    );
    // A second relay of the same row (a crash between enqueue and marking it dispatched):
    await system.sql(`UPDATE outbox_messages SET dispatched_at = NULL WHERE payload->>'mailId' = $1`, [
      mail.id,
    ]);
    await eventually(async () => {
      const [r] = await system.sql<{ d: boolean }>(
        `SELECT dispatched_at IS NOT NULL AS d FROM outbox_messages WHERE payload->>'mailId' = $1`,
        [mail.id],
      );
      return r.d;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.messages.filter((m) => m.includes('once_only@mail.example.com'))).toHaveLength(1);
  });
});

describe('mail without SMTP', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await TestSystem.start();
  });
  afterAll(() => system?.stop());

  it('keeps the mail in the mail outbox table and says it was not sent', async () => {
    const res = await system.http
      .post('/v2/users')
      .auth(await system.adminToken(), { type: 'bearer' })
      .send({ username: 'no_smtp', email: 'no_smtp@example.com', password: 'MailPass123', fullName: 'N' })
      .expect(201);
    expect(res.body.verificationEmailSent).toBe(false);
    const mail = await eventually(async () => {
      const [m] = await system.sql<{ status: string; text: string }>(
        `SELECT status, text FROM mails WHERE "to" = 'no_smtp@example.com'`,
      );
      return m?.status === 'kept' ? m : null;
    });
    expect(mail.text).toMatch(/Verification token: /);
  });
});
