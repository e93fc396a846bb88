import { Writable } from 'node:stream';
import pino from 'pino';
import { PinoLoggerService } from './logger';

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
