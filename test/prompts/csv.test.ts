import { describe, expect, it } from 'vitest';
import { CsvColumnNotFoundError } from '../../src/prompts/errors';
import { detectHeader, listCsvColumns, parseCsv } from '../../src/prompts/parsers/csv';

describe('listCsvColumns', () => {
  it('lists header columns with statistics and suggests prompt/response/system by name', () => {
    const text = 'id,question,answer,system\n1,What is up?,sky,be nice\n2,"Quoted, with comma",x,\n';
    const list = listCsvColumns(text);
    expect(list.hasHeader).toBe(true);
    expect(list.delimiter).toBe(',');
    expect(list.columns.map((c) => c.name)).toEqual(['id', 'question', 'answer', 'system']);
    expect(list.columns[1]!.samples).toEqual(['What is up?', 'Quoted, with comma']);
    expect(list.columns[3]!.filled).toBe(0.5);
    expect(list.suggested).toEqual({ promptColumn: 'question', responseColumn: 'answer', systemColumn: 'system' });
  });

  it('falls back to the longest text column when no name matches', () => {
    const text = 'code,body,score\nA1,a fairly long sentence of text,3\nB2,another long sentence of text here,4\n';
    expect(listCsvColumns(text).suggested.promptColumn).toBe('body');
  });

  it('detects a missing header and names columns by position', () => {
    const text = 'How do magnets work?,physics\nWhat is a verb?,grammar\n';
    const list = listCsvColumns(text);
    expect(list.hasHeader).toBe(false);
    expect(list.columns.map((c) => c.name)).toEqual(['Column 1', 'Column 2']);
    expect(list.suggested.promptColumn).toBe(0);
  });

  it('guesses semicolon delimiters (European spreadsheet exports)', () => {
    expect(listCsvColumns('prompt;label\nhello there;a\nhi;b\n').delimiter).toBe(';');
  });

  it('honours a forced header choice', () => {
    expect(listCsvColumns('a,b\nc,d\n', { hasHeader: false }).hasHeader).toBe(false);
    expect(detectHeader([['prompt', 'x']])).toBe(true);
    expect(detectHeader([['name', 'score'], ['some text here', '12']])).toBe(true);
  });
});

describe('parseCsv', () => {
  it('parses with the suggested columns, quoted newlines, and line numbers of each row', () => {
    const text = 'prompt,response\n"multi\nline",r1\n\nsecond,r2\n';
    const out = parseCsv(text, {}, 'q.csv');
    expect(out.records).toEqual([
      { prompt: 'multi\nline', response: 'r1', source: { file: 'q.csv', line: 2 } },
      { prompt: 'second', response: 'r2', source: { file: 'q.csv', line: 5 } },
    ]);
    expect(out.choice).toEqual({ promptColumn: 'prompt', responseColumn: 'response' });
  });

  it('uses the chosen columns, by name or index', () => {
    const text = 'a,b,c\nx1,y1,z1\nx2,y2,z2\n';
    expect(parseCsv(text, { promptColumn: 'c', responseColumn: 0 }).records.map((r) => [r.prompt, r.response])).toEqual([
      ['z1', 'x1'],
      ['z2', 'x2'],
    ]);
  });

  it('reads TSV', () => {
    const out = parseCsv('question\tanswer\nwhy, though?\tbecause\n', { delimiter: '\t' });
    expect(out.records[0]).toMatchObject({ prompt: 'why, though?', response: 'because' });
    expect(out.columns.delimiter).toBe('\t');
  });

  it('warns about ragged rows and skips rows without the prompt cell', () => {
    const text = 'id,prompt,response\n1,hello,hi\n2\n3,extra,x,y\n4,,z\n';
    const out = parseCsv(text, {}, 'r.csv');
    expect(out.records.map((r) => r.prompt)).toEqual(['hello', 'extra']);
    const messages = out.warnings.map((w) => w.message);
    expect(messages).toContain('Line 3 has 1 field, expected 3.');
    expect(messages).toContain('Line 3 has no "prompt" field; skipped.');
    expect(messages).toContain('Line 4 has 4 fields, expected 3.');
    expect(messages).toContain('Line 5 has an empty prompt; skipped.');
  });

  it('reports quote problems from papaparse as warnings naming the line', () => {
    const out = parseCsv('prompt,x\nok,1\n"unterminated,2\n', {}, 'u.csv');
    expect(out.warnings.some((w) => w.code === 'csv-syntax' && w.line === 3)).toBe(true);
  });

  it('names the available columns when the chosen one does not exist', () => {
    expect(() => parseCsv('a,b\n1,2\n', { promptColumn: 'prompt' }, 'c.csv')).toThrow(CsvColumnNotFoundError);
    expect(() => parseCsv('a,b\n1,2\n', { promptColumn: 7 }, 'c.csv')).toThrow(/Columns: "a", "b"/);
  });
});
