import { hostname } from 'node:os';
import { beatEvery, JobLeases, LeasedJob, newWorkerId, onThisHost, Renewal } from './job-leases';
import { sweepLapsed } from './lapsed-leases.repository';

/** A promise the test settles by hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets the promise callbacks queued so far run (fake timers do not touch microtasks). */
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('JobLeases', () => {
  let warn: jest.Mock;
  let leases: JobLeases;

  beforeEach(() => {
    jest.useFakeTimers();
    warn = jest.fn();
    leases = new JobLeases('build', { warn });
  });
  afterEach(() => jest.useRealTimers());

  /** Holds job `id` until the returned `finish` is called; `job` is what the work was given. */
  const holdJob = (
    id: string,
    renew: () => Promise<Renewal>,
    opts: { ms?: number; renewAtOnce?: boolean } = {},
  ) => {
    const gate = deferred<string>();
    let job!: LeasedJob;
    const done = leases.hold(id, { ms: opts.ms ?? 3000, renew, renewAtOnce: opts.renewAtOnce }, (j) => {
      job = j;
      return gate.promise;
    });
    return { done, finish: gate.resolve, fail: gate.reject, job: () => job };
  };

  describe('heartbeat', () => {
    it('renews three times per lease while the work runs, and no more once it settled', async () => {
      const renew = jest.fn(async (): Promise<Renewal> => 'held');
      const h = holdJob('b1', renew, { ms: 3000 });
      expect(renew).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(999);
      expect(renew).toHaveBeenCalledTimes(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(renew).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(2000);
      expect(renew).toHaveBeenCalledTimes(3);
      h.finish('success');
      await expect(h.done).resolves.toBe('success');
      await jest.advanceTimersByTimeAsync(10_000);
      expect(renew).toHaveBeenCalledTimes(3);
      expect(h.job().reason).toBeNull();
      expect(h.job().signal.aborted).toBe(false);
    });

    it('beats no faster than every 200 ms, whatever the lease', () => {
      expect(beatEvery(300)).toBe(200);
      expect(beatEvery(30_000)).toBe(10_000);
    });

    it('renews at once too when asked (a cancel asked before the job started is heard)', async () => {
      const renew = jest.fn(async (): Promise<Renewal> => 'cancelled');
      const h = holdJob('b1', renew, { renewAtOnce: true });
      expect(renew).toHaveBeenCalledTimes(1);
      await flush();
      expect(h.job().reason).toBe('cancelled');
      expect(h.job().signal.aborted).toBe(true);
      h.finish('cancelled');
      await h.done;
    });

    it('stops the job when the lease is gone', async () => {
      const renewals: Renewal[] = ['held', 'lost'];
      const h = holdJob('b1', async () => renewals.shift() ?? 'held');
      await jest.advanceTimersByTimeAsync(1000);
      expect(h.job().reason).toBeNull();
      await jest.advanceTimersByTimeAsync(1000);
      expect(h.job().reason).toBe('lost');
      expect(h.job().signal.aborted).toBe(true);
      h.finish('failed');
      await h.done;
    });

    it('logs a renewal that failed and tries again at the next beat', async () => {
      let calls = 0;
      const h = holdJob('b1', async () => {
        calls++;
        if (calls === 1) throw new Error('connection refused');
        return 'held';
      });
      await jest.advanceTimersByTimeAsync(1000);
      expect(warn).toHaveBeenCalledWith('lease of build b1 not renewed: connection refused');
      expect(h.job().reason).toBeNull();
      await jest.advanceTimersByTimeAsync(1000);
      expect(calls).toBe(2);
      expect(warn).toHaveBeenCalledTimes(1);
      h.finish('success');
      await h.done;
    });

    it('stops beating when the work fails, and passes the failure on', async () => {
      const renew = jest.fn(async (): Promise<Renewal> => 'held');
      const h = holdJob('b1', renew);
      h.fail(new Error('boom'));
      await expect(h.done).rejects.toThrow('boom');
      await jest.advanceTimersByTimeAsync(10_000);
      expect(renew).not.toHaveBeenCalled();
    });
  });

  describe('stop reasons', () => {
    it('the first reason wins: a cancelled job stays cancelled when its lease is lost or the worker stops', async () => {
      const h = holdJob('b1', async () => 'lost');
      leases.stop('b1', 'cancelled');
      expect(h.job().reason).toBe('cancelled');
      await jest.advanceTimersByTimeAsync(1000);
      const shutdown = leases.shutdown();
      expect(h.job().reason).toBe('cancelled');
      h.finish('cancelled');
      await shutdown;
      await h.done;
    });

    it('stopping a job that is not running here (another worker, or finished) does nothing', async () => {
      expect(() => leases.stop('elsewhere', 'cancelled')).not.toThrow();
      const h = holdJob('b1', async () => 'held');
      h.finish('success');
      await h.done;
      leases.stop('b1', 'cancelled');
      expect(h.job().reason).toBeNull();
    });

    it('a job held twice under one id (taken over by this same worker) is tracked by its newest holder', async () => {
      const first = holdJob('d1', async () => 'held');
      const second = holdJob('d1', async () => 'held');
      first.finish('old');
      await first.done;
      leases.stop('d1', 'lost');
      expect(second.job().reason).toBe('lost');
      second.finish('new');
      await second.done;
    });
  });

  describe('shutdown', () => {
    it('stops every running job (reason shutdown) and waits until each has ended', async () => {
      const a = holdJob('b1', async () => 'held');
      const b = holdJob('b2', async () => 'held');
      let ended = false;
      const shutdown = leases.shutdown().then(() => (ended = true));
      expect([a.job().reason, b.job().reason]).toEqual(['shutdown', 'shutdown']);
      expect(a.job().signal.aborted && b.job().signal.aborted).toBe(true);
      a.finish('failed');
      await flush();
      expect(ended).toBe(false);
      b.fail(new Error('could not record the failure'));
      await shutdown;
      expect(ended).toBe(true);
      await a.done;
      await expect(b.done).rejects.toThrow();
    });

    it('refuses new claims afterwards: the job attempt fails and BullMQ hands it out again', async () => {
      expect(() => leases.assertRunning()).not.toThrow();
      expect(leases.stopping).toBe(false);
      await leases.shutdown();
      expect(leases.stopping).toBe(true);
      expect(() => leases.assertRunning()).toThrow('the worker is shutting down');
    });

    it('a job claimed just before the shutdown but held after it starts stopped', async () => {
      await leases.shutdown();
      const h = holdJob('b1', async () => 'held');
      expect(h.job().reason).toBe('shutdown');
      expect(h.job().signal.aborted).toBe(true);
      h.finish('failed');
      await h.done;
    });

    it('with abortRunning false, leaves running jobs to see `stopping` and hand themselves back', async () => {
      const h = holdJob('a1', async () => 'held');
      let ended = false;
      const shutdown = leases.shutdown({ abortRunning: false }).then(() => (ended = true));
      expect(leases.stopping).toBe(true);
      expect(h.job().reason).toBeNull();
      expect(h.job().signal.aborted).toBe(false);
      const late = holdJob('a2', async () => 'held');
      expect(late.job().signal.aborted).toBe(false);
      // A cancel still stops the model call in flight.
      leases.stop('a1', 'cancelled');
      expect(h.job().signal.aborted).toBe(true);
      await flush();
      expect(ended).toBe(false);
      h.finish('handed-back');
      late.finish('handed-back');
      await shutdown;
      expect(ended).toBe(true);
    });
  });

  describe('sweeps', () => {
    it('run once at once (the returned promise is that pass), then every interval until shutdown', async () => {
      const pass = jest.fn(async () => undefined);
      expect(leases.started).toBe(false);
      await leases.sweepEvery(1000, pass);
      expect(leases.started).toBe(true);
      expect(pass).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(3000);
      expect(pass).toHaveBeenCalledTimes(4);
      await leases.shutdown();
      await jest.advanceTimersByTimeAsync(5000);
      expect(pass).toHaveBeenCalledTimes(4);
    });

    it('log a failed pass, and the next one runs', async () => {
      let n = 0;
      await leases.sweepEvery(1000, async () => {
        if (++n === 1) throw new Error('database unavailable');
      });
      expect(warn).toHaveBeenCalledWith('build sweep failed: database unavailable');
      await jest.advanceTimersByTimeAsync(1000);
      expect(n).toBe(2);
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('never overlap: a pass still running when the next is due makes that one skip', async () => {
      const slow = deferred();
      const pass = jest.fn(() => slow.promise);
      const first = leases.sweepEvery(1000, pass);
      await jest.advanceTimersByTimeAsync(3500);
      expect(pass).toHaveBeenCalledTimes(1);
      slow.resolve();
      await first;
      await jest.advanceTimersByTimeAsync(500);
      expect(pass).toHaveBeenCalledTimes(2);
    });
  });
});

describe('worker ids', () => {
  it('name the host and the process, and differ per runner', () => {
    const a = newWorkerId();
    expect(a).toMatch(new RegExp(`^${hostname()}:${process.pid}:[0-9a-f]{8}$`));
    expect(newWorkerId()).not.toBe(a);
  });

  it('tell a holder on this host from one elsewhere', () => {
    expect(onThisHost(newWorkerId())).toBe(true);
    expect(onThisHost(`not-${hostname()}:1:abcd`)).toBe(false);
    expect(onThisHost(null)).toBe(false);
  });
});

describe('sweepLapsed', () => {
  it('selects the lapsed rows of the table, longest lapsed first, and counts those acted on', async () => {
    const rows = jest.fn(async () => [{ id: 'b1' }, { id: 'b2' }, { id: 'b3' }]);
    const acted: string[] = [];
    const n = await sweepLapsed(
      { rows } as never,
      { table: 'builds', running: 'running', limit: 50 },
      async (id) => {
        acted.push(id);
        return id !== 'b2'; // another worker's sweep took b2 first
      },
    );
    expect(n).toBe(2);
    expect(acted).toEqual(['b1', 'b2', 'b3']);
    expect(rows).toHaveBeenCalledWith(
      `SELECT id FROM builds WHERE status = 'running' AND locked_until < now() ORDER BY locked_until LIMIT $1`,
      [50],
    );
  });
});
