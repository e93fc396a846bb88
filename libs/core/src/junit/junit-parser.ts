import { parseXml, XmlElement } from './xml';

export type CaseStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface JUnitCase {
  /** The enclosing <testsuite name>. */
  suite: string;
  classname: string | null;
  name: string;
  /** Seconds. */
  time: number;
  status: CaseStatus;
  /** <failure message>, <error message> or <skipped message>. */
  message: string | null;
  /** The element's text: the stack trace or failure output. */
  details: string | null;
}

export interface JUnitTotals {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
  /** Seconds. */
  duration: number;
}

export interface JUnitReport {
  totals: JUnitTotals;
  cases: JUnitCase[];
}

export class JUnitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JUnitError';
  }
}

export const MAX_CASES = 50_000;
const MAX_TEXT = 64 * 1024;

const seconds = (raw: string | undefined): number | null => {
  if (raw === undefined) return null;
  // Some tools write "1,234.5"; a comma is a thousands separator there.
  const n = Number(raw.trim().replace(/,/g, ''));
  return Number.isFinite(n) && n >= 0 ? n : null;
};
const clip = (s: string | null | undefined): string | null => {
  if (s === undefined || s === null) return null;
  const t = s.trim();
  if (!t) return null;
  return t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT)}\n… (${t.length - MAX_TEXT} more characters)` : t;
};

/**
 * Reads a JUnit XML report (the format of Surefire, Jest/Vitest reporters, pytest --junitxml,
 * Playwright, go-junit-report): a <testsuites> root or a single <testsuite>, suites possibly
 * nested. Totals are counted from the cases themselves, not taken from the suites' attributes,
 * which tools fill in inconsistently; the duration is the root's time when given, else the sum
 * of the top-level suites' times, else the sum of the cases'.
 */
export function parseJUnit(xml: string): JUnitReport {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    throw new JUnitError(`the report is not well-formed XML: ${(err as Error).message}`);
  }
  if (root.name !== 'testsuites' && root.name !== 'testsuite')
    throw new JUnitError(`the root element is <${root.name}>, expected <testsuites> or <testsuite>`);

  const cases: JUnitCase[] = [];
  const walk = (el: XmlElement, suite: string) => {
    for (const child of el.children) {
      if (child.name === 'testsuite') walk(child, child.attributes.name ?? suite);
      else if (child.name === 'testcase') {
        if (cases.length >= MAX_CASES) throw new JUnitError(`the report has more than ${MAX_CASES} cases`);
        cases.push(readCase(child, suite));
      }
    }
  };
  if (root.name === 'testsuite') walk({ ...root, children: [root] }, '');
  else walk(root, root.attributes.name ?? '');

  const count = (s: CaseStatus) => cases.filter((c) => c.status === s).length;
  const topSuites = root.name === 'testsuite' ? [root] : root.children.filter((c) => c.name === 'testsuite');
  const suiteTimes = topSuites.map((s) => seconds(s.attributes.time));
  const rootTime = root.name === 'testsuites' ? seconds(root.attributes.time) : null;
  const suitesTime =
    topSuites.length && suiteTimes.every((t) => t !== null)
      ? suiteTimes.reduce<number>((a, b) => a + (b ?? 0), 0)
      : null;
  const duration = rootTime ?? suitesTime ?? cases.reduce((a, c) => a + c.time, 0);
  return {
    totals: {
      total: cases.length,
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped'),
      errors: count('error'),
      duration: Math.round(duration * 1000) / 1000,
    },
    cases,
  };
}

function readCase(el: XmlElement, suite: string): JUnitCase {
  const name = el.attributes.name;
  if (name === undefined) throw new JUnitError('a <testcase> has no name attribute');
  const outcome =
    el.children.find((c) => c.name === 'failure') ??
    el.children.find((c) => c.name === 'error') ??
    el.children.find((c) => c.name === 'skipped');
  const status: CaseStatus = !outcome
    ? 'passed'
    : outcome.name === 'failure'
      ? 'failed'
      : outcome.name === 'error'
        ? 'error'
        : 'skipped';
  return {
    suite,
    classname: el.attributes.classname ?? null,
    name,
    time: seconds(el.attributes.time) ?? 0,
    status,
    message: clip(outcome?.attributes.message ?? outcome?.attributes.type),
    details: clip(outcome?.text),
  };
}
