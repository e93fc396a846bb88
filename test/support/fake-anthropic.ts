import { createServer, IncomingHttpHeaders, Server } from 'node:http';

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

/**
 * A local server speaking the Anthropic Messages API (POST /v1/messages) for the anthropic
 * provider's tests: it records every request and answers with a JSON object for the step asked
 * about, after an optional delay, unless a test scripts another answer (errors, rate limits).
 */
export class FakeAnthropic {
  readonly requests: MessagesRequest[] = [];
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
    return /Step "([^"]+)"/.exec(r.body.messages[0]?.content ?? '')?.[1] ?? '?';
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }));
          return;
        }
        const request: MessagesRequest = { headers: req.headers, body: JSON.parse(raw), at: Date.now() };
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
