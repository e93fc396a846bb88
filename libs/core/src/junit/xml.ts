/** An element of a parsed XML document: enough of XML for JUnit reports. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text and CDATA directly inside the element, concatenated. */
  text: string;
}

export class XmlError extends Error {
  constructor(message: string, offset: number, source: string) {
    const upto = source.slice(0, offset);
    const line = upto.split('\n').length;
    const column = offset - upto.lastIndexOf('\n');
    super(`${message} at line ${line}, column ${column}`);
    this.name = 'XmlError';
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const MAX_DEPTH = 200;

/**
 * A small, strict, non-validating XML parser: elements, attributes, text, CDATA, comments,
 * processing instructions and the five predefined and numeric character references. A DOCTYPE is
 * refused, so no entity expansion (billion laughs) or external entity (XXE) can happen.
 * Anything malformed throws an XmlError naming the line and column.
 */
export function parseXml(source: string): XmlElement {
  let pos = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (message: string, at = pos): never => {
    throw new XmlError(message, at, source);
  };
  const startsWith = (s: string) => source.startsWith(s, pos);
  const skipSpace = () => {
    while (pos < source.length && /\s/.test(source[pos])) pos++;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(source);
    if (!m) fail('expected a name');
    pos += m![0].length;
    return m![0];
  };
  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) fail('unterminated character reference', at);
      if (ref.startsWith('#x') || ref.startsWith('#X')) {
        const code = /^#[xX][0-9a-fA-F]+$/.test(ref) ? parseInt(ref.slice(2), 16) : NaN;
        if (!Number.isInteger(code) || code > 0x10ffff) fail(`bad character reference &${ref};`, at);
        return String.fromCodePoint(code);
      }
      if (ref.startsWith('#')) {
        const code = /^#\d+$/.test(ref) ? parseInt(ref.slice(1), 10) : NaN;
        if (!Number.isInteger(code) || code > 0x10ffff) fail(`bad character reference &${ref};`, at);
        return String.fromCodePoint(code);
      }
      if (!(ref in ENTITIES)) fail(`unknown entity &${ref};`, at);
      return ENTITIES[ref];
    });
  /** Skips comments, processing instructions and whitespace between elements. */
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (startsWith('<!--')) {
        const end = source.indexOf('-->', pos + 4);
        if (end === -1) fail('unterminated comment');
        pos = end + 3;
      } else if (startsWith('<?')) {
        const end = source.indexOf('?>', pos + 2);
        if (end === -1) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (startsWith('<!DOCTYPE') || startsWith('<!doctype')) {
        fail('DOCTYPE declarations are not accepted');
      } else return;
    }
  };

  const parseElement = (depth: number): XmlElement => {
    if (depth > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
    if (source[pos] !== '<') fail('expected "<"');
    pos++;
    const element: XmlElement = { name: readName(), attributes: {}, children: [], text: '' };
    for (;;) {
      const before = pos;
      skipSpace();
      if (startsWith('/>')) {
        pos += 2;
        return element;
      }
      if (source[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) fail(`expected whitespace, ">" or "/>" in <${element.name}>`);
      const attr = readName();
      skipSpace();
      if (source[pos] !== '=') fail(`expected "=" after attribute ${attr}`);
      pos++;
      skipSpace();
      const quote = source[pos];
      if (quote !== '"' && quote !== "'") fail(`expected a quoted value for attribute ${attr}`);
      const end = source.indexOf(quote, pos + 1);
      if (end === -1) fail(`unterminated value of attribute ${attr}`);
      const raw = source.slice(pos + 1, end);
      if (raw.includes('<')) fail(`"<" in the value of attribute ${attr}`);
      if (attr in element.attributes) fail(`duplicate attribute ${attr}`);
      element.attributes[attr] = decode(raw, pos);
      pos = end + 1;
    }
    const text: string[] = [];
    for (;;) {
      if (pos >= source.length) fail(`unclosed element <${element.name}>`);
      if (startsWith('</')) {
        const closeAt = pos;
        pos += 2;
        const close = readName();
        if (close !== element.name) fail(`</${close}> does not close <${element.name}>`, closeAt);
        skipSpace();
        if (source[pos] !== '>') fail('expected ">"');
        pos++;
        element.text = text.join('');
        return element;
      }
      if (startsWith('<![CDATA[')) {
        const end = source.indexOf(']]>', pos + 9);
        if (end === -1) fail('unterminated CDATA section');
        text.push(source.slice(pos + 9, end));
        pos = end + 3;
      } else if (startsWith('<!--')) {
        const end = source.indexOf('-->', pos + 4);
        if (end === -1) fail('unterminated comment');
        pos = end + 3;
      } else if (startsWith('<?')) {
        const end = source.indexOf('?>', pos + 2);
        if (end === -1) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (source[pos] === '<') {
        element.children.push(parseElement(depth + 1));
      } else {
        const next = source.indexOf('<', pos);
        const end = next === -1 ? source.length : next;
        text.push(decode(source.slice(pos, end), pos));
        pos = end;
      }
    }
  };

  skipMisc();
  if (pos >= source.length) fail('the document is empty');
  const root = parseElement(0);
  skipMisc();
  if (pos < source.length) fail('content after the root element');
  return root;
}
