import { Type } from '@nestjs/common';
import { DECORATORS } from '@nestjs/swagger';
import { FieldError } from '../errors/app-error';

/** Deeper JSON documents are refused before anything walks them (recursion has a stack). */
export const MAX_JSON_DEPTH = 32;

/**
 * How deeply arrays and objects nest in a JSON text, counted without parsing it (brackets inside
 * strings do not count). Stops counting once past `limit`.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored or used as given: PostgreSQL text has no NUL, and a lone UTF-16
 * surrogate has no UTF-8 form (encodeURIComponent, Buffer and the driver all choke on it).
 */
export function badStringReason(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must not contain unpaired UTF-16 surrogates';
  return null;
}

const joinPath = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/** Every string (value or key) in a parsed document that cannot be stored, as field errors. */
export function findBadStrings(value: unknown, path = '', out: FieldError[] = []): FieldError[] {
  if (typeof value === 'string') {
    const reason = badStringReason(value);
    if (reason)
      out.push({ field: path || 'body', message: `${path || 'body'} ${reason}`, code: 'invalid_format' });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => findBadStrings(item, joinPath(path, i), out));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const reason = badStringReason(key);
      const field = joinPath(path, reason ? JSON.stringify(key) : key);
      if (reason) out.push({ field, message: `field name ${reason}`, code: 'invalid_format' });
      else findBadStrings(item, field, out);
    }
  }
  return out;
}

interface PropertyDoc {
  nullable: boolean;
  /** The DTO class of a nested object (or of each item of an array of objects). */
  nested?: Type<unknown>;
}

type PropertyMeta = { nullable?: boolean; type?: unknown };
/** Where the Swagger CLI plugin leaves what it read from the TypeScript types. */
const PLUGIN_FACTORY = '_OPENAPI_METADATA_FACTORY';
const docsCache = new WeakMap<object, Map<string, PropertyDoc>>();

/**
 * The documented (Swagger) properties of a DTO class and its parents: whether each may be null,
 * and its nested DTO. Decorators win over what the plugin inferred, as in the OpenAPI document.
 */
function propertyDocs(metatype: Type<unknown>): Map<string, PropertyDoc> {
  let docs = docsCache.get(metatype);
  if (docs) return docs;
  const merged = new Map<string, PropertyMeta>();
  const chain: Array<Type<unknown>> = [];
  for (
    let c: unknown = metatype;
    typeof c === 'function' && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  )
    chain.unshift(c as Type<unknown>);
  for (const cls of chain) {
    const factory = (cls as unknown as Record<string, unknown>)[PLUGIN_FACTORY];
    if (Object.prototype.hasOwnProperty.call(cls, PLUGIN_FACTORY) && typeof factory === 'function') {
      for (const [key, meta] of Object.entries((factory as () => Record<string, PropertyMeta>)() ?? {}))
        merged.set(key, { ...merged.get(key), ...meta });
    }
    const prototype = cls.prototype as object;
    const keys = (Reflect.getOwnMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, prototype) ?? []) as string[];
    for (const name of keys) {
      const key = name.replace(/^:/, '');
      const meta = (Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, prototype, key) ??
        {}) as PropertyMeta;
      merged.set(key, { ...merged.get(key), ...meta });
    }
  }
  docs = new Map();
  for (const [key, meta] of merged) {
    let type = meta.type;
    // The plugin writes `type: () => Class`; decorators write the class (or [Class]).
    if (typeof type === 'function' && !(type as { prototype?: unknown }).prototype)
      type = (type as () => unknown)();
    if (Array.isArray(type)) type = type[0];
    const nested =
      typeof type === 'function' && ![String, Number, Boolean, Object, Array, Date].includes(type as never)
        ? (type as Type<unknown>)
        : undefined;
    docs.set(key, { nullable: meta.nullable === true, nested });
  }
  docsCache.set(metatype, docs);
  return docs;
}

/**
 * `null` where the DTO does not document the property as nullable: `@IsOptional()` lets null
 * through as if the field were absent, and the service would then write (or dereference) it.
 * A documented nullable field takes null as "clear it"; every other field refuses null.
 */
export function findForbiddenNulls(
  value: unknown,
  metatype: Type<unknown>,
  path = '',
  out: FieldError[] = [],
): FieldError[] {
  if (Array.isArray(value)) {
    value.forEach((item, i) => findForbiddenNulls(item, metatype, joinPath(path, i), out));
    return out;
  }
  if (!value || typeof value !== 'object') return out;
  const docs = propertyDocs(metatype);
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const doc = docs.get(key);
    if (!doc) continue; // unknown fields are the whitelist's to report
    const field = joinPath(path, key);
    if (item === null) {
      if (!doc.nullable) out.push({ field, message: `${field} must not be null`, code: 'invalid_type' });
    } else if (doc.nested) {
      findForbiddenNulls(item, doc.nested, field, out);
    }
  }
  return out;
}
