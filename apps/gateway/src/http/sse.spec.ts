import { formatSse, parseLastEventId, wantsEventStream } from './sse';

describe('Server-Sent Events helpers', () => {
  it('recognises a client asking for an event stream', () => {
    expect(wantsEventStream('text/event-stream')).toBe(true);
    expect(wantsEventStream('text/plain, text/event-stream;q=0.9')).toBe(true);
    expect(wantsEventStream('text/plain')).toBe(false);
    expect(wantsEventStream(undefined)).toBe(false);
  });

  it('reads Last-Event-ID as a non-negative integer', () => {
    expect(parseLastEventId('42')).toBe(42);
    expect(parseLastEventId(undefined)).toBe(0);
    expect(parseLastEventId('-1')).toBe(0);
    expect(parseLastEventId('abc')).toBe(0);
    expect(parseLastEventId('1.5')).toBe(0);
  });

  it('writes an event with its id on one data line, newlines kept inside the JSON', () => {
    expect(formatSse({ id: 7, event: 'log', data: { text: 'a\nb\r\n' } })).toBe(
      'id: 7\nevent: log\ndata: {"text":"a\\nb\\r\\n"}\n\n',
    );
    expect(formatSse({ event: 'error', data: { message: 'x' } })).toBe(
      'event: error\ndata: {"message":"x"}\n\n',
    );
    expect(formatSse({ heartbeat: true })).toBe(': heartbeat\n\n');
  });
});
