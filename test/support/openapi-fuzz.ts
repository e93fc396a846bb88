import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';

/**
 * Arbitraries and checks derived from the gateway's OpenAPI document, for test/e2e/fuzz:
 * valid values for a schema, mutations that make them invalid, and ajv validators for request
 * bodies (closed, as the validation pipe forbids unknown fields) and responses.
 */

export type Schema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  example?: unknown;
  default?: unknown;
};

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  method: string;
  path: string;
  operationId?: string;
  parameters: Parameter[];
  requestSchema?: Schema;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, Schema> };
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method] as
        | {
            operationId?: string;
            parameters?: Parameter[];
            requestBody?: { content?: Record<string, { schema?: Schema }> };
            responses?: Operation['responses'];
          }
        | undefined;
      if (!op) continue;
      out.push({
        method,
        path,
        operationId: op.operationId,
        parameters: op.parameters ?? [],
        requestSchema: op.requestBody?.content?.['application/json']?.schema,
        responses: op.responses ?? {},
      });
    }
  }
  return out;
}

export class SchemaKit {
  private readonly ajv: Ajv;
  private readonly closedAjv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    this.ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    this.closedAjv = addFormats(new Ajv({ strict: false, allErrors: true }));
    const components = nullables(document.components ?? {});
    this.ajv.addSchema({ components }, 'doc');
    this.closedAjv.addSchema({ components: close(components) }, 'doc');
  }

  resolve(schema: Schema): Schema {
    let s = schema;
    for (let i = 0; s.$ref && i < 20; i++) {
      const name = s.$ref.replace('#/components/schemas/', '');
      s = this.document.components?.schemas?.[name] ?? {};
    }
    if (s.allOf?.length) {
      return s.allOf
        .map((part) => this.resolve(part))
        .reduce((a, b) => merge(a, b), { ...s, allOf: undefined });
    }
    return s;
  }

  private validator(schema: Schema, closed: boolean): ValidateFunction {
    const key = `${closed}:${JSON.stringify(schema)}`;
    let v = this.cache.get(key);
    if (!v) {
      const rebased = JSON.parse(
        JSON.stringify(closed ? close(nullables(schema)) : nullables(schema)).replace(
          /"#\/components/g,
          '"doc#/components',
        ),
      );
      v = (closed ? this.closedAjv : this.ajv).compile(rebased);
      this.cache.set(key, v);
    }
    return v;
  }

  /** Null if the value matches (request bodies: unknown properties are errors), else why not. */
  requestProblem(schema: Schema, value: unknown): string | null {
    const v = this.validator(schema, true);
    return v(value) ? null : this.ajv.errorsText(v.errors);
  }

  /** Null if the value matches (responses too: a property the document does not name is an error). */
  responseProblem(schema: Schema, value: unknown): string | null {
    const v = this.validator(schema, true);
    return v(value) ? null : this.ajv.errorsText(v.errors);
  }

  /** Values the schema accepts (ids and references get fixture values by name when known). */
  valid(schema: Schema, fixtures: Record<string, string>, name = '', depth = 0): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    const fixture = fixtureFor(name, fixtures);
    if (fixture !== undefined && (s.type === 'string' || !s.type)) return fc.constant(fixture);
    if (s.enum?.length) return fc.constantFrom(...s.enum);
    const options: Array<fc.Arbitrary<unknown>> = [];
    if (s.example !== undefined && depth > 0) options.push(fc.constant(s.example));
    switch (s.type ?? (s.properties ? 'object' : undefined)) {
      case 'string':
        options.push(stringFor(s));
        break;
      case 'integer':
        options.push(
          fc.integer({ min: s.minimum ?? 0, max: s.maximum ?? Math.max(s.minimum ?? 0, 0) + 100 }),
        );
        break;
      case 'number':
        options.push(
          fc.double({ min: s.minimum ?? 0, max: s.maximum ?? 1000, noNaN: true, noDefaultInfinity: true }),
        );
        break;
      case 'boolean':
        options.push(fc.boolean());
        break;
      case 'array': {
        if (depth > 6) return fc.constant([]);
        const minLength = s.minItems ?? 0;
        const maxLength = Math.min(s.maxItems ?? 3, minLength + 3);
        const item = this.valid(s.items ?? {}, fixtures, singular(name), depth + 1);
        options.push(
          s.uniqueItems
            ? fc.uniqueArray(item, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
            : fc.array(item, { minLength, maxLength }),
        );
        break;
      }
      case 'object': {
        if (depth > 6) return fc.constant({});
        const props = s.properties ?? {};
        const required = new Set(s.required ?? []);
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, prop] of Object.entries(props))
          record[key] = this.valid(prop, fixtures, key, depth + 1);
        options.push(
          fc.record(record, {
            requiredKeys: Object.keys(props).filter((k) => required.has(k)),
          }) as fc.Arbitrary<unknown>,
        );
        break;
      }
      default:
        options.push(fc.oneof(fc.string(), fc.integer(), fc.boolean()));
    }
    const arb = options.length === 1 ? options[0] : fc.oneof(...options);
    return s.nullable ? fc.option(arb, { nil: null, freq: 5 }) : arb;
  }

  /** A valid object with one thing made wrong; ajv (or the bad string) says it is invalid. */
  invalid(
    schema: Schema,
    fixtures: Record<string, string>,
  ): fc.Arbitrary<{ body: unknown; mutation: string }> {
    const s = this.resolve(schema);
    const props = Object.keys(s.properties ?? {});
    const base = this.valid(s, fixtures) as fc.Arbitrary<Record<string, unknown>>;
    const wrongValues = fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, '', 'x', [], {}, [null], {
      a: 1,
    });
    const mutations: Array<fc.Arbitrary<{ body: unknown; mutation: string }>> = [
      fc
        .constantFrom<unknown>(null, [], 'text', 42, true)
        .map((body) => ({ body, mutation: 'not an object' })),
      base.map((b) => ({ body: { ...b, zzUnknownField: 1 }, mutation: 'unknown field' })),
      fc
        .tuple(base, fc.constantFrom(...BAD_STRINGS))
        .map(([b, bad]) => ({ body: withBadString(b, bad), mutation: 'bad string' })),
    ];
    if (props.length) {
      mutations.push(
        fc.tuple(base, fc.constantFrom(...props), wrongValues).map(([b, key, value]) => ({
          body: { ...b, [key]: value },
          mutation: `${key} = ${JSON.stringify(value)}`,
        })),
      );
      const required = s.required ?? [];
      if (required.length) {
        mutations.push(
          fc.tuple(base, fc.constantFrom(...required)).map(([b, key]) => {
            const copy = { ...b };
            delete copy[key];
            return { body: copy, mutation: `without ${key}` };
          }),
        );
      }
      const long = props.filter((k) => this.resolve(s.properties![k]).maxLength !== undefined);
      if (long.length) {
        mutations.push(
          fc.tuple(base, fc.constantFrom(...long)).map(([b, key]) => ({
            body: { ...b, [key]: 'a'.repeat(this.resolve(s.properties![key]).maxLength! + 1) },
            mutation: `${key} too long`,
          })),
        );
      }
    }
    return fc.oneof(...mutations);
  }
}

/** Strings no field may take: PostgreSQL has no NUL, UTF-8 has no lone surrogate. */
export const BAD_STRINGS = ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\u0000\ud83d'];

function withBadString(body: Record<string, unknown>, bad: string): Record<string, unknown> {
  const keys = Object.keys(body).filter((k) => typeof body[k] === 'string');
  if (!keys.length) return { ...body, [`bad${bad}`]: bad };
  return { ...body, [keys[0]]: `${body[keys[0]] as string}${bad}` };
}

function stringFor(s: Schema): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0;
  const maxLength = Math.min(s.maxLength ?? 40, minLength + 40);
  if (s.format === 'email') return fc.emailAddress();
  if (s.format === 'date-time')
    return fc.date({ min: new Date(2020, 0, 1), max: new Date(2030, 0, 1) }).map((d) => d.toISOString());
  if (s.format === 'uri' || s.format === 'url') return fc.webUrl();
  if (s.pattern) {
    const re = new RegExp(s.pattern);
    const example = typeof s.example === 'string' && re.test(s.example) ? [s.example] : [];
    return fc.oneof(
      fc.stringMatching(re).filter((v) => v.length >= minLength && v.length <= (s.maxLength ?? 1e9)),
      ...example.map((e) => fc.constant(e)),
    );
  }
  const text = fc.string({ minLength, maxLength, unit: 'grapheme' });
  return typeof s.example === 'string' ? fc.oneof(fc.constant(s.example), text) : text;
}

const singular = (name: string) => name.replace(/s$/, '');

function fixtureFor(name: string, fixtures: Record<string, string>): string | undefined {
  if (fixtures[name] !== undefined) return fixtures[name];
  if (/^(ownerId|assigneeId|reporterId|userId|member)$/.test(name)) return fixtures.userId;
  return undefined;
}

function merge(a: Schema, b: Schema): Schema {
  return {
    ...a,
    ...b,
    properties: { ...(a.properties ?? {}), ...(b.properties ?? {}) },
    required: [...(a.required ?? []), ...(b.required ?? [])],
  };
}

/** Object schemas with properties admit nothing else (forbidNonWhitelisted). */
function close<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => close(v)) as T;
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = close(v);
  if (out.properties && typeof out.properties === 'object' && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out as T;
}

/**
 * OpenAPI 3.0's `nullable: true` as JSON Schema: the schema or null. ajv reads `nullable` only
 * next to `type`, so `{nullable, enum}` refused null and `{nullable, allOf: [$ref]}` too.
 */
function nullables<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => nullables(v)) as T;
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = nullables(v);
  if (out.nullable !== true) return out as T;
  delete out.nullable;
  return { anyOf: [out, { type: 'null' }] } as T;
}

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD, as a client would send). */
export function encodePathSegment(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}
