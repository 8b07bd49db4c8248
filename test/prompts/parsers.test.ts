import { describe, expect, it } from 'vitest';
import { detectFormat, sniffFormat } from '../../src/prompts/detect';
import { MalformedJsonError, MalformedJsonlError, NoPromptsFoundError, UnsupportedFormatError } from '../../src/prompts/errors';
import { RecordCollector, runSteps } from '../../src/prompts/collector';
import { parseJson, parseJsonSteps, splitArrayItems } from '../../src/prompts/parsers/json';
import { parseJsonl, parseJsonlSteps } from '../../src/prompts/parsers/jsonl';
import { parseText } from '../../src/prompts/parsers/text';
import { jsonl } from './helpers';

describe('parseText', () => {
  it('reads one prompt per line, trimming and skipping blank lines, with line numbers', () => {
    // Blank lines between single-line prompts do not switch to paragraph mode.
    const { records, textSplit } = parseText('first\r\n\n  second  \n\nthird', 'p.txt');
    expect(textSplit).toBe('line');
    expect(records.map((r) => [r.prompt, r.source.line])).toEqual([
      ['first', 1],
      ['second', 3],
      ['third', 5],
    ]);
    expect(records[0]!.source.file).toBe('p.txt');
  });

  it('reads blank-line separated multi-line prompts, keeping indentation', () => {
    const text = 'Write code:\n  def f():\n    pass\n\n\nSecond prompt\non two lines\n\nthird\n';
    const { records, textSplit } = parseText(text);
    expect(textSplit).toBe('paragraph');
    expect(records.map((r) => r.prompt)).toEqual(['Write code:\n  def f():\n    pass', 'Second prompt\non two lines', 'third']);
    expect(records.map((r) => r.source.line)).toEqual([1, 6, 9]);
  });

  it('can be forced to one prompt per line', () => {
    expect(parseText('a\nb\n\nc', 'x', 'line').records).toHaveLength(3);
  });
});

describe('parseJsonl', () => {
  it('reads every JSON shape line by line and names lines in sources', () => {
    const text = jsonl([
      { prompt: 'p1', response: 'r1', system: 's' },
      'bare string',
      { instruction: 'do', input: 'this' },
      { question: 'why?' },
      { text: 'plain' },
      { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] },
    ]);
    const records = parseJsonl(text, 'd.jsonl');
    expect(records.map((r) => r.prompt)).toEqual(['p1', 'bare string', 'do\nthis', 'why?', 'plain', 'hi']);
    expect(records[0]).toEqual({ prompt: 'p1', response: 'r1', system: 's', source: { file: 'd.jsonl', line: 1 } });
    expect(records[5]!.response).toBe('yo');
  });

  it('skips blank lines and tolerates CRLF', () => {
    const records = parseJsonl('{"prompt":"a"}\r\n\r\n{"prompt":"b"}\r\n');
    expect(records.map((r) => [r.prompt, r.source.line])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
  });

  it('keeps the valid lines and warns once per malformed line, naming it and why', () => {
    const text = '{"prompt":"ok"}\n{"prompt":"ok2"}\n{"prompt": "oops",}\n{"prompt":"fine"}\nnot json\n';
    const out = new RecordCollector('bad.jsonl');
    runSteps(parseJsonlSteps(text, out));
    expect(out.records.map((r) => r.prompt)).toEqual(['ok', 'ok2', 'fine']);
    expect(out.records.map((r) => r.source.line)).toEqual([1, 2, 4]);
    expect(out.warnings.map((w) => [w.code, w.line])).toEqual([['skipped-item', 3], ['skipped-item', 5]]);
    expect(out.warnings[0]!.message).toMatch(/^Line 3 is not valid JSON \(.+ \(column \d+\)\); skipped\.$/);
  });

  it('fails a file with no valid line, naming the first bad line, the reason, and how many lines are bad', () => {
    let caught: unknown;
    try {
      parseJsonl('{"prompt": "oops",}\n\nnot json\n', 'bad.jsonl');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MalformedJsonlError);
    const error = caught as MalformedJsonlError;
    expect(error.line).toBe(1);
    expect(error.malformedLineCount).toBe(2);
    expect(error.reason).toMatch(/column \d+/);
    expect(error.message).toMatch(/^Line 1 of bad\.jsonl is not valid JSON: .+\(2 malformed lines in total\)/);
  });

  it("fails on the first malformed line with malformedLines: 'error'", () => {
    expect(() => parseJsonl('{"prompt":"a"}\n{oops\n{"prompt":"b"}', 'x.jsonl', { malformedLines: 'error' })).toThrow(/^Line 2 of x\.jsonl/);
  });
});

describe('parseJson', () => {
  it('reads arrays of strings and of objects, naming items', () => {
    expect(parseJson('["a", "b"]').map((r) => r.prompt)).toEqual(['a', 'b']);
    const records = parseJson(JSON.stringify([{ question: 'q1', answer: 'a1' }, { prompt: 'p2' }]), 'f.json');
    expect(records).toEqual([
      { prompt: 'q1', response: 'a1', source: { file: 'f.json', item: 1 } },
      { prompt: 'p2', source: { file: 'f.json', item: 2 } },
    ]);
  });

  it('reads a single object and wrapped lists', () => {
    expect(parseJson('{"messages":[{"role":"user","content":"hi"}]}').map((r) => r.prompt)).toEqual(['hi']);
    expect(parseJson('{"version":1,"data":[{"text":"t"}]}').map((r) => r.prompt)).toEqual(['t']);
    expect(parseJson('{"meta":{},"whatever":["x","y"]}').map((r) => r.prompt)).toEqual(['x', 'y']);
  });

  it('names line and column of a syntax error when no item is valid on its own', () => {
    let caught: unknown;
    try {
      parseJson('{\n  "data": [{"prompt": "a"},\n  {"prompt": "b",}]\n}', 'broken.json');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MalformedJsonError);
    const error = caught as MalformedJsonError;
    expect(error.line).toBe(3);
    expect(error.column).toBeGreaterThan(1);
    expect(error.message).toMatch(/^broken\.json is not valid JSON at line 3, column \d+: /);
    expect(() => parseJson('[\n  {"prompt": "a",},\n  {"prompt" "b"}\n]', 'none.json')).toThrow(/^none\.json is not valid JSON at line 2/);
  });

  it('keeps the items of a broken list that are valid on their own, with a warning per bad item', () => {
    const text = '[\n  {"prompt": "a"},\n  {"prompt": "b",},\n  {"prompt": "c, with a comma"},\n  {"prompt" "no colon"},\n  "d"\n]\n';
    const out = new RecordCollector('broken.json');
    runSteps(parseJsonSteps(text, out));
    expect(out.records.map((r) => [r.prompt, r.source.item])).toEqual([['a', 1], ['c, with a comma', 3], ['d', 5]]);
    expect(out.warnings[0]!.message).toMatch(/^broken\.json is not valid JSON at line 3, column \d+: .+ The items that are valid on their own were kept\.$/);
    expect(out.warnings.slice(1).map((w) => [w.item, w.line])).toEqual([[2, 3], [4, 5]]);
    expect(out.warnings[1]!.message).toMatch(/^Item 2 \(line 3\) is not valid JSON \(.+\); skipped\.$/);
  });

  it('splits a list into items at commas outside strings and brackets', () => {
    expect(splitArrayItems('  [1, "a,b", {"x": [1, 2]}, ]')?.map((i) => i.text)).toEqual(['1', '"a,b"', '{"x": [1, 2]}']);
    expect(splitArrayItems('\n[\n"x",\n\n"y"')?.map((i) => [i.text, i.line])).toEqual([['"x"', 3], ['"y"', 5]]);
    expect(splitArrayItems('{"a": 1}')).toBeNull();
  });

  it('reads a .json file that is really JSONL, with a warning', () => {
    const out = new RecordCollector('lines.json');
    const details = runSteps(parseJsonSteps(jsonl([{ prompt: 'a' }, { prompt: 'b' }]), out));
    expect(details.readAsJsonl).toBe(true);
    expect(out.records).toHaveLength(2);
    expect(out.warnings[0]!.code).toBe('format-fallback');
  });

  it('says why a single scalar is not a prompt list', () => {
    expect(() => parseJson('42', 'n.json')).toThrow(NoPromptsFoundError);
    expect(() => parseJson('{"a":1,"b":2}', 'o.json')).toThrow(/keys: a, b/);
  });
});

describe('detectFormat', () => {
  it('trusts known extensions, case-insensitively', () => {
    expect(detectFormat('a.TXT', '{}')).toEqual({ format: 'text', source: 'extension' });
    expect(detectFormat('a.ndjson', '')).toMatchObject({ format: 'jsonl' });
    expect(detectFormat('a.json', '')).toMatchObject({ format: 'json' });
    expect(detectFormat('a.csv', '')).toMatchObject({ format: 'csv' });
    expect(detectFormat('a.tsv', '')).toMatchObject({ format: 'tsv' });
  });

  it('refuses known non-text formats with advice', () => {
    expect(() => detectFormat('book.xlsx', '')).toThrow(UnsupportedFormatError);
    expect(() => detectFormat('book.xlsx', '')).toThrow(/export the sheet as CSV/);
  });

  it('sniffs content when the extension is missing or unknown', () => {
    expect(detectFormat('prompts', '{"prompt":"a"}\n{"prompt":"b"}')).toEqual({ format: 'jsonl', source: 'content' });
    expect(sniffFormat('  [\n"a"]')).toBe('json');
    expect(sniffFormat('{\n  "data": []\n}')).toBe('json');
    expect(sniffFormat('{"prompt":"only one line"}')).toBe('json');
    expect(sniffFormat('{"a":1}\nthen prose')).toBe('json');
    expect(sniffFormat('prompt,response\nhi,hello\nbye,ciao')).toBe('csv');
    expect(sniffFormat('q\ta\nhow?\tthus\nwhy?\tbecause')).toBe('tsv');
  });

  it('does not mistake prose with commas for CSV', () => {
    expect(sniffFormat('Hello, how are you?\nTell me a joke, please\nWhat is 2+2, roughly?')).toBe('text');
    expect(sniffFormat('one, two\nthree, four')).toBe('text');
    expect(sniffFormat('just one line')).toBe('text');
    // Identifier-like header without a known name: a table only with enough rows.
    expect(sniffFormat('id,title\n1,a\n2,b\n3,c')).toBe('csv');
  });
});
