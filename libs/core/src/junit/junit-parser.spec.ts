import { JUnitError, parseJUnit } from './junit-parser';
import { parseXml, XmlError } from './xml';

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by a test runner -->
<testsuites name="all" tests="5" time="3.5">
  <testsuite name="auth" tests="3" time="2.25">
    <testcase classname="auth.Login" name="accepts a good password" time="0.5"/>
    <testcase classname="auth.Login" name="refuses a bad password" time="1.25">
      <failure message="expected 401, got 200" type="AssertionError">AssertionError: expected 401
    at login.spec.ts:12:5</failure>
    </testcase>
    <testcase classname="auth.Login" name="locks after 10 tries" time="0">
      <skipped message="flaky on CI"/>
    </testcase>
  </testsuite>
  <testsuite name="cart" time="1.25">
    <testcase classname="cart.Total" name="sums &lt;items&gt; &amp; tax" time="1,000.25">
      <error message="TypeError: x is undefined"><![CDATA[TypeError: x is undefined
    at total.ts:3 <raw> & unescaped]]></error>
    </testcase>
    <testcase classname="cart.Total" name="is &#x4e2d;&#25991;" time="0.001">
      <system-out>hello</system-out>
    </testcase>
  </testsuite>
</testsuites>`;

describe('parseJUnit', () => {
  it('reads totals and every case with its suite, name, time, status, message and details', () => {
    const report = parseJUnit(REPORT);
    expect(report.totals).toEqual({ total: 5, passed: 2, failed: 1, skipped: 1, errors: 1, duration: 3.5 });
    expect(report.cases).toEqual([
      {
        suite: 'auth',
        classname: 'auth.Login',
        name: 'accepts a good password',
        time: 0.5,
        status: 'passed',
        message: null,
        details: null,
      },
      {
        suite: 'auth',
        classname: 'auth.Login',
        name: 'refuses a bad password',
        time: 1.25,
        status: 'failed',
        message: 'expected 401, got 200',
        details: 'AssertionError: expected 401\n    at login.spec.ts:12:5',
      },
      {
        suite: 'auth',
        classname: 'auth.Login',
        name: 'locks after 10 tries',
        time: 0,
        status: 'skipped',
        message: 'flaky on CI',
        details: null,
      },
      {
        suite: 'cart',
        classname: 'cart.Total',
        name: 'sums <items> & tax',
        time: 1000.25,
        status: 'error',
        message: 'TypeError: x is undefined',
        details: 'TypeError: x is undefined\n    at total.ts:3 <raw> & unescaped',
      },
      {
        suite: 'cart',
        classname: 'cart.Total',
        name: 'is 中文',
        time: 0.001,
        status: 'passed',
        message: null,
        details: null,
      },
    ]);
  });

  it('accepts a single <testsuite> root and sums case times when no suite time is given', () => {
    const report = parseJUnit(
      `<testsuite name="solo"><testcase name="a" time="0.25"/><testcase name="b" time="0.5"/></testsuite>`,
    );
    expect(report.totals).toEqual({ total: 2, passed: 2, failed: 0, skipped: 0, errors: 0, duration: 0.75 });
    expect(report.cases.map((c) => [c.suite, c.classname])).toEqual([
      ['solo', null],
      ['solo', null],
    ]);
  });

  it('uses the suites’ times when the root has none, and nested suites name their cases', () => {
    const report = parseJUnit(
      `<testsuites><testsuite name="outer" time="2"><testsuite name="inner" time="1.5"><testcase name="x" time="1"/></testsuite></testsuite><testsuite name="b" time="1"/></testsuites>`,
    );
    expect(report.totals.duration).toBe(3);
    expect(report.cases[0].suite).toBe('inner');
  });

  it('uses the failure type when it has no message', () => {
    const report = parseJUnit(
      `<testsuite name="s"><testcase name="t"><failure type="AssertionError"/></testcase></testsuite>`,
    );
    expect(report.cases[0]).toEqual(expect.objectContaining({ status: 'failed', message: 'AssertionError' }));
  });

  it('reads an empty report as zero cases', () => {
    expect(parseJUnit('<testsuites/>').totals).toEqual({
      total: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      errors: 0,
      duration: 0,
    });
  });

  it.each([
    ['an empty file', '', /not well-formed XML: the document is empty/],
    ['plain text', 'PASS all tests', /not well-formed XML: expected "<"/],
    [
      'a truncated file',
      '<testsuites><testsuite name="a"><testcase name="x"/>',
      /unclosed element <testsuite>/,
    ],
    [
      'crossed tags',
      '<testsuites><testsuite></testsuites></testsuite>',
      /<\/testsuites> does not close <testsuite>/,
    ],
    ['an unquoted attribute', '<testsuite name=a/>', /expected a quoted value for attribute name/],
    ['a bare ampersand', '<testsuite name="a & b"/>', /unterminated character reference/],
    ['an unknown entity', '<testsuite name="&nbsp;"/>', /unknown entity &nbsp;/],
    ['two roots', '<testsuite/><testsuite/>', /content after the root element/],
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>', /DOCTYPE declarations are not accepted/],
    ['another root element', '<html><body/></html>', /the root element is <html>/],
    ['a case without a name', '<testsuite><testcase/></testsuite>', /a <testcase> has no name attribute/],
  ])('refuses %s', (_, xml, message) => {
    expect(() => parseJUnit(xml)).toThrow(JUnitError);
    expect(() => parseJUnit(xml)).toThrow(message);
  });

  it('tells where the XML is broken', () => {
    expect(() => parseJUnit('<testsuites>\n  <testsuite name="x">\n</testsuites>')).toThrow(
      /<\/testsuites> does not close <testsuite> at line 3, column 1/,
    );
  });
});

describe('parseXml', () => {
  it('reads attributes in either quote, a BOM, comments and processing instructions', () => {
    const el = parseXml(
      `\ufeff<?xml version="1.0"?><a x='1' y="&quot;2&quot;"><!-- c --><?pi x?><b/>t&#65;</a>`,
    );
    expect(el).toEqual({
      name: 'a',
      attributes: { x: '1', y: '"2"' },
      children: [{ name: 'b', attributes: {}, children: [], text: '' }],
      text: 'tA',
    });
  });

  it('refuses nesting deeper than its limit instead of overflowing the stack', () => {
    expect(() => parseXml('<a>'.repeat(5000) + '</a>'.repeat(5000))).toThrow(XmlError);
  });

  it('refuses duplicate attributes', () => {
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate attribute x/);
  });
});
