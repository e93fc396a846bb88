import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';

export interface MessagesRequest {
  headers: IncomingHttpHeaders;
  body: {
    model: string;
    max_tokens: number;
    temperature?: number;
    system?: string;
    messages: Array<{ role: string; content: string }>;
  };
  at: number;
}

export type FakeAnswer = { status: number; body: unknown; headers?: Record<string, string> };

/** A content block of a request (Claude Code sends arrays of them: text, tool_use, tool_result). */
export type ContentBlock = { type: string; [key: string]: unknown };

/** A streaming request's body (stream: true), as a client like Claude Code sends it. */
export interface StreamedMessagesBody {
  model: string;
  max_tokens: number;
  stream: true;
  system?: string | ContentBlock[];
  tools?: Array<{ name: string; [key: string]: unknown }>;
  messages: Array<{ role: string; content: string | ContentBlock[] }>;
}

/** Any call the fake answered: its path with the query (`/v1/messages?beta=true`), headers and body. */
export interface RecordedCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

/**
 * One scripted turn of a streamed answer: text (ending the turn), or a tool call (with optional
 * text before it; stop_reason tool_use). E.g. `[{ toolUse: { name: 'Write', input: { file_path,
 * content } } }, { toolUse: { name: 'Bash', input: { command } } }, { text: 'done', end: true }]`.
 */
export type StreamTurn =
  | { text: string; end?: true }
  | { toolUse: { name: string; input: Record<string, unknown>; id?: string }; text?: string };

/** One server-sent event of the Messages API's stream. */
export type StreamEvent = { event: string; data: { type: string; [key: string]: unknown } };

/**
 * A local server speaking the Anthropic Messages API (POST /v1/messages) for the anthropic
 * provider's tests: it records every request and answers with a JSON object for the step asked
 * about, after an optional delay, unless a test scripts another answer (errors, rate limits).
 *
 * With `stream: true` it speaks the streaming protocol (text/event-stream: message_start,
 * content_block_start / content_block_delta / content_block_stop per block, message_delta with
 * the stop reason and usage, message_stop), playing the scripted `turns` one per request, as
 * Claude Code expects; without turns left, the JSON answer's text as one text block.
 * POST /v1/messages/count_tokens answers `{ input_tokens }`.
 */
export class FakeAnthropic {
  /** The JSON (non-streaming) Messages calls. */
  readonly requests: MessagesRequest[] = [];
  /** The streaming Messages calls. */
  readonly streamed: Array<{
    path: string;
    headers: IncomingHttpHeaders;
    body: StreamedMessagesBody;
    at: number;
  }> = [];
  /** Every call answered (/v1/messages, /v1/messages/count_tokens), in order. */
  readonly calls: RecordedCall[] = [];
  /** Streamed turns to play, one per streaming request, in order. */
  readonly turns: StreamTurn[] = [];
  /** The turns played, in order (a default text turn when none was left). */
  readonly served: StreamTurn[] = [];
  /** Pause between two events of a stream (to see them arrive one by one). */
  eventDelayMs = 0;
  /** Pause before a stream's first event (the model's time to answer). */
  streamDelayMs = 0;
  /**
   * Chooses each streamed request's turn from its body instead of `turns` (sessions that run at
   * once, each by where its conversation is); undefined: the next of `turns`.
   */
  turnFor: ((body: StreamedMessagesBody) => StreamTurn | undefined) | null = null;
  delayMs = 0;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number } = {
    input_tokens: 100,
    output_tokens: 50,
  };
  /** Answers to give next, in order, before the default one (e.g. a 429 then a 529). */
  readonly script: FakeAnswer[] = [];
  /** A fixed answer for every request (e.g. a permanent 400). */
  always: FakeAnswer | null = null;
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The step a request is about ("需求解析" ...), from the prompt. */
  static stepOf(r: MessagesRequest): string {
    const content = r.body.messages[0]?.content;
    return /Step "([^"]+)"/.exec(typeof content === 'string' ? content : '')?.[1] ?? '?';
  }

  /** Parses a text/event-stream body into its events. */
  static parseEvents(text: string): StreamEvent[] {
    return text
      .split(/\n\n/)
      .filter((chunk) => chunk.trim())
      .map((chunk) => {
        const event = /^event: (.*)$/m.exec(chunk)?.[1] ?? '';
        const data = /^data: (.*)$/m.exec(chunk)?.[1] ?? '{}';
        return { event, data: JSON.parse(data) as StreamEvent['data'] };
      });
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://fake').pathname;
        if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }));
          return;
        }
        const body = JSON.parse(raw) as unknown;
        const at = Date.now();
        this.calls.push({ method: req.method, path: req.url ?? '', headers: req.headers, body, at });
        if (path === '/v1/messages/count_tokens') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ input_tokens: this.usage.input_tokens }));
          return;
        }
        if ((body as { stream?: boolean }).stream === true) {
          const streamed = {
            path: req.url ?? '',
            headers: req.headers,
            body: body as StreamedMessagesBody,
            at,
          };
          this.streamed.push(streamed);
          const scripted = this.always ?? this.script.shift();
          if (scripted) {
            res.writeHead(scripted.status, {
              'content-type': 'application/json',
              ...(scripted.headers ?? {}),
            });
            res.end(JSON.stringify(scripted.body));
            return;
          }
          const turn = this.turnFor?.(streamed.body) ??
            this.turns.shift() ?? { text: this.defaultText(streamed.body.model), end: true };
          this.served.push(turn);
          void this.stream(res, FakeAnthropic.events(turn, streamed.body.model, this.usage));
          return;
        }
        const request: MessagesRequest = { headers: req.headers, body: body as MessagesRequest['body'], at };
        this.requests.push(request);
        const answer = this.always ?? this.script.shift() ?? this.success(request);
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
          res.end(JSON.stringify(answer.body));
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  static error(status: number, type: string, message: string, headers?: Record<string, string>): FakeAnswer {
    return { status, body: { type: 'error', error: { type, message } }, headers };
  }

  /**
   * The events of one streamed turn, shaped as the Messages API sends them: a tool call's input
   * arrives as input_json_delta pieces of its JSON (the first one empty), text as text_delta pieces.
   */
  static events(
    turn: StreamTurn,
    model: string,
    usage: { input_tokens: number; output_tokens: number },
  ): StreamEvent[] {
    const ev = (type: string, fields: Record<string, unknown> = {}): StreamEvent => ({
      event: type,
      data: { type, ...fields },
    });
    const pieces = (text: string, size: number) =>
      text.length ? (text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? []) : [];
    const out: StreamEvent[] = [
      ev('message_start', {
        message: {
          id: `msg_${Math.random().toString(36).slice(2)}`,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
        },
      }),
    ];
    let index = 0;
    const text = turn.text;
    if (text !== undefined) {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      if (index === 0) out.push(ev('ping'));
      for (const piece of pieces(text, 8))
        out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
      out.push(ev('content_block_stop', { index }));
      index++;
    }
    if ('toolUse' in turn) {
      const { name, input, id } = turn.toolUse;
      out.push(
        ev('content_block_start', {
          index,
          content_block: {
            type: 'tool_use',
            id: id ?? `toolu_${Math.random().toString(36).slice(2)}`,
            name,
            input: {},
          },
        }),
      );
      for (const piece of ['', ...pieces(JSON.stringify(input), 16)])
        out.push(
          ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }),
        );
      out.push(ev('content_block_stop', { index }));
    }
    out.push(
      ev('message_delta', {
        delta: { stop_reason: 'toolUse' in turn ? 'tool_use' : 'end_turn', stop_sequence: null },
        usage: { output_tokens: usage.output_tokens },
      }),
      ev('message_stop'),
    );
    return out;
  }

  /** Writes the events one by one (eventDelayMs apart), ending the response after message_stop. */
  private async stream(res: ServerResponse, events: StreamEvent[]): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': `req_${Math.random().toString(36).slice(2)}`,
    });
    res.flushHeaders();
    if (this.streamDelayMs) await new Promise((resolve) => setTimeout(resolve, this.streamDelayMs));
    for (const e of events) {
      if (this.eventDelayMs) await new Promise((resolve) => setTimeout(resolve, this.eventDelayMs));
      if (res.destroyed) return;
      res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    }
    res.end();
  }

  private defaultText(model: string): string {
    return `Fake streamed answer from ${model}.`;
  }

  private success(r: MessagesRequest): FakeAnswer {
    const step = FakeAnthropic.stepOf(r);
    const json =
      /文档|生成|document/i.test(step) && /"document"/.test(r.body.system ?? '')
        ? { document: `# Fake model document for ${step}\n\n- written by the fake Messages API` }
        : {
            items: [`${step} item 1`, `${step} item 2`],
            userStories: [{ id: 'US-1', title: 'fake story' }],
            acceptanceCriteria: [{ storyId: 'US-1', then: 'works' }],
          };
    return {
      status: 200,
      body: {
        id: `msg_${Math.random().toString(36).slice(2)}`,
        type: 'message',
        role: 'assistant',
        model: `${r.body.model}`,
        content: [{ type: 'text', text: JSON.stringify(json) }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: this.usage,
      },
    };
  }
}
