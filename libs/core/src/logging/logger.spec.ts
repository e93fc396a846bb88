import { Writable } from 'node:stream';
import pino from 'pino';
import { createRootLogger, maskLogArgument, maskUrlPasswords, PinoLoggerService } from './logger';

function capture(level: string): { service: PinoLoggerService; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const service = new PinoLoggerService(pino({ level }, stream));
  const lines = () =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { service, lines };
}

describe('PinoLoggerService', () => {
  it("keeps Nest's start-up chatter (modules, routes) out of the default level", () => {
    const { service, lines } = capture('info');
    service.log('Mapped {/v2/users, GET} route', 'RouterExplorer');
    service.log('UsersController {/v2/users}:', 'RoutesResolver');
    service.log('CoreModule dependencies initialized', 'InstanceLoader');
    service.log('Starting Nest application...', 'NestFactory');
    service.log('bootstrap admin created', 'BootstrapService');
    expect(lines().map((l) => l.msg)).toEqual(['bootstrap admin created']);
  });

  it('still shows that chatter at debug', () => {
    const { service, lines } = capture('debug');
    service.log('Mapped {/v2/users, GET} route', 'RouterExplorer');
    expect(lines()).toEqual([expect.objectContaining({ msg: 'Mapped {/v2/users, GET} route', level: 20 })]);
  });
});

describe('URL passwords in logs', () => {
  it('masks the password of every URL in a text', () => {
    expect(
      maskUrlPasswords('clone https://ci:tok3n@git.example.com/a.git and http://u:p%40ss@h/x, not git@h:a/b'),
    ).toBe('clone https://ci:***@git.example.com/a.git and http://u:***@h/x, not git@h:a/b');
  });

  it('masks them in objects, arrays and errors (their own fields too), leaving the originals alone', () => {
    const err = Object.assign(new Error('insert of https://a:s3cret@h/r.git failed'), {
      parameters: ['https://a:s3cret@h/r.git', 1],
    });
    const masked = maskLogArgument({ err, list: ['https://a:s3cret@h/r.git'], n: 1 }) as {
      err: Error & { parameters: unknown[] };
      list: string[];
      n: number;
    };
    expect(JSON.stringify([masked, masked.err.message, masked.err.stack])).not.toContain('s3cret');
    expect(masked.err).toBeInstanceOf(Error);
    expect(masked.err.parameters).toEqual(['https://a:***@h/r.git', 1]);
    expect(masked.n).toBe(1);
    expect(err.message).toContain('s3cret');
  });

  it('reach no line of the root logger, nor do credentials fields', () => {
    const logger = createRootLogger('info', 'test');
    const lines: string[] = [];
    const stream = (logger as unknown as Record<symbol, { write: (s: string) => void }>)[
      pino.symbols.streamSym
    ];
    const write = stream.write.bind(stream);
    stream.write = (line: string) => {
      lines.push(line);
      return true;
    };
    try {
      logger.warn(
        { repository: { credentials: { token: 'tok3n' } } },
        'clone https://ci:tok3n@h/a.git failed',
      );
    } finally {
      stream.write = write;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('tok3n');
    expect(lines[0]).toContain('https://ci:***@h/a.git');
  });
});
