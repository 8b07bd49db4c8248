import { describe, expect, it } from 'vitest';
import {
  BinaryFileError,
  CsvColumnNotFoundError,
  EmptyFileError,
  FileTooLargeError,
  InvalidUtf8Error,
  MalformedJsonError,
  MalformedJsonlError,
  NoPromptsFoundError,
  PromptFileError,
  UnsupportedFormatError,
} from '../../src/prompts/errors';
import {
  promptFileFromBlob,
  readPastedText,
  readPastedTextAsync,
  readPromptFile,
  readPromptFileAsync,
} from '../../src/prompts/readPromptFile';
import type { ReadProgress } from '../../src/prompts/types';
import { fileOf, jsonl } from './helpers';

function errorOf(run: () => unknown): PromptFileError {
  try {
    run();
  } catch (error) {
    if (error instanceof PromptFileError) return error;
    throw error;
  }
  throw new Error('expected a PromptFileError');
}

describe('readPromptFile: formats', () => {
  it('reads text and reports the split mode', () => {
    const result = readPromptFile(fileOf('p.txt', 'a\nb\na\n'));
    expect(result).toMatchObject({ format: 'text', formatSource: 'extension', textSplit: 'line', recordsRead: 3, duplicatesDropped: 1 });
    expect(result.records.map((r) => r.prompt)).toEqual(['a', 'b']);
  });

  it('reads JSONL of the shared datasets shape', () => {
    const text = jsonl([
      { prompt: 'Q1', response: '[A]', system: 'sys' },
      { prompt: 'Q2', response: '[B]', system: 'sys' },
    ]);
    const result = readPromptFile(fileOf('train.jsonl', text));
    expect(result.format).toBe('jsonl');
    expect(result.records[1]).toEqual({ prompt: 'Q2', response: '[B]', system: 'sys', source: { file: 'train.jsonl', line: 2 } });
  });

  it('reads JSON arrays and CSV/TSV with a column choice', () => {
    expect(readPromptFile(fileOf('a.json', '["x","y"]')).records).toHaveLength(2);
    const csv = readPromptFile(fileOf('t.csv', 'id,text\n1,hello\n2,world\n'));
    expect(csv.format).toBe('csv');
    expect(csv.csv?.choice.promptColumn).toBe('text');
    expect(csv.records.map((r) => r.prompt)).toEqual(['hello', 'world']);
    const chosen = readPromptFile(fileOf('t.csv', 'id,text\n1,hello\n2,world\n'), { csv: { promptColumn: 'id' } });
    expect(chosen.records.map((r) => r.prompt)).toEqual(['1', '2']);
    const tsv = readPromptFile(fileOf('t.tsv', 'q\ta\nwhy, then?\tso\n'), { csv: { hasHeader: true } });
    expect(tsv).toMatchObject({ format: 'tsv', records: [{ prompt: 'why, then?' }] });
  });

  it('sniffs files without a known extension', () => {
    expect(readPromptFile(fileOf('export', jsonl([{ question: 'a' }, { question: 'b' }])))).toMatchObject({
      format: 'jsonl',
      formatSource: 'content',
    });
  });

  it('reads a pretty-printed JSON array saved as .jsonl, with a warning', () => {
    const result = readPromptFile(fileOf('pretty.jsonl', JSON.stringify([{ prompt: 'a' }, { prompt: 'b' }], null, 2)));
    expect(result.format).toBe('json');
    expect(result.records).toHaveLength(2);
    expect(result.warnings[0]!.code).toBe('format-fallback');
  });

  it('reads JSONL saved as .txt as JSONL, with a warning', () => {
    const result = readPromptFile(fileOf('export.txt', jsonl([{ prompt: 'a' }, { prompt: 'b' }])));
    expect(result).toMatchObject({ format: 'jsonl', formatSource: 'content', records: [{ prompt: 'a' }, { prompt: 'b' }] });
    expect(result.warnings[0]).toMatchObject({ code: 'format-fallback', message: expect.stringMatching(/read as JSONL/) });
    // A single JSON-looking line in a text file stays text.
    expect(readPromptFile(fileOf('one.txt', '{"a": 1}\n')).format).toBe('text');
    expect(readPromptFile(fileOf('mixed.txt', '{"a": 1}\nWhat is {x}?\n')).format).toBe('text');
  });

  it('honours a forced format', () => {
    const result = readPromptFile(fileOf('data.txt', 'prompt\nhello\n'), { format: 'csv' });
    expect(result).toMatchObject({ format: 'csv', formatSource: 'option', records: [{ prompt: 'hello' }] });
  });

  it('keeps duplicates when dedupe is off', () => {
    expect(readPromptFile(fileOf('d.txt', 'a\na\n'), { dedupe: false }).records).toHaveLength(2);
  });

  it('reads pasted text by sniffing it', () => {
    expect(readPastedText('one prompt\nanother')).toMatchObject({ fileName: 'pasted text', format: 'text', recordsRead: 2 });
    expect(readPastedText('\uFEFF[{"prompt":"a"}]', { name: 'Paste 1' })).toMatchObject({ fileName: 'Paste 1', format: 'json' });
    expect(() => readPastedText('   \n')).toThrow(EmptyFileError);
  });
});

describe('readPromptFile: bad inputs give clear, typed errors', () => {
  it('empty file', () => {
    const error = errorOf(() => readPromptFile(fileOf('empty.txt', '')));
    expect(error).toBeInstanceOf(EmptyFileError);
    expect(error.code).toBe('empty-file');
    expect(error.message).toBe('empty.txt is empty (0 bytes). Choose a file with at least one prompt.');
  });

  it('binary file', () => {
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256);
    const error = errorOf(() => readPromptFile(fileOf('model.bin', bytes)));
    expect(error).toBeInstanceOf(BinaryFileError);
    expect(error.message).toMatch(/^model\.bin is not a text file/);
  });

  it('invalid UTF-8 names the byte offset', () => {
    const bytes = Uint8Array.from([...new TextEncoder().encode('{"prompt":"caf'), 0xe9, ...new TextEncoder().encode('"}\n')]);
    const error = errorOf(() => readPromptFile(fileOf('latin1.jsonl', bytes)));
    expect(error).toBeInstanceOf(InvalidUtf8Error);
    expect(error.message).toMatch(/invalid byte at offset 14 \(line 1\)/);
  });

  it('malformed JSON with no valid item names line and column', () => {
    const error = errorOf(() => readPromptFile(fileOf('bad.json', '[\n"a" "b",\n"b" "c"\n]')));
    expect(error).toBeInstanceOf(MalformedJsonError);
    expect(error.message).toMatch(/at line 2, column 5/);
  });

  it('malformed JSON keeps the valid items of a list, with warnings', () => {
    const result = readPromptFile(fileOf('bad.json', '[\n"a",\n"b" "c"\n]'));
    expect(result.records.map((r) => r.prompt)).toEqual(['a']);
    expect(result.warningCount).toBe(2);
    expect(result.warnings[1]!.message).toMatch(/^Item 2 \(line 3\) is not valid JSON/);
  });

  it('malformed JSONL keeps the valid lines with a warning naming the bad line', () => {
    const text = jsonl([{ prompt: 'a' }, { prompt: 'b' }]) + '{"prompt": "c"\n';
    const result = readPromptFile(fileOf('bad.jsonl', text));
    expect(result.records.map((r) => r.prompt)).toEqual(['a', 'b']);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatchObject({ code: 'skipped-item', line: 3 });
    expect(result.warnings[0]!.message).toMatch(/^Line 3 is not valid JSON/);
  });

  it('malformed JSONL with no valid line names the line', () => {
    const error = errorOf(() => readPromptFile(fileOf('bad.jsonl', '{"prompt": "c"\n{x\n')));
    expect(error).toBeInstanceOf(MalformedJsonlError);
    expect((error as MalformedJsonlError).line).toBe(1);
    expect(error.message).toMatch(/^Line 1 of bad\.jsonl is not valid JSON: .+\(2 malformed lines in total\)/);
  });

  it('a JSON list of numbers has no prompts, and says why', () => {
    const error = errorOf(() => readPromptFile(fileOf('numbers.json', '[1, 2, 3]')));
    expect(error).toBeInstanceOf(NoPromptsFoundError);
    expect(error.message).toMatch(/3 items were skipped \(first: Item 1 is a number, not a prompt\)/);
  });

  it('an empty JSON list, and a CSV with only a header', () => {
    expect(() => readPromptFile(fileOf('e.json', '[]'))).toThrow(/the list of prompts is empty/);
    expect(() => readPromptFile(fileOf('h.csv', 'prompt,response\n'))).toThrow(/no data rows below its header/);
  });

  it('JSONL objects without prompt fields', () => {
    const error = errorOf(() => readPromptFile(fileOf('x.jsonl', jsonl([{ id: 1 }]))));
    expect(error).toBeInstanceOf(NoPromptsFoundError);
    expect(error.message).toMatch(/Line 1 has no prompt field \(keys: id\)/);
  });

  it('CSV with ragged rows reads what it can and warns per line', () => {
    const result = readPromptFile(fileOf('r.csv', 'prompt,response\na,1\nb\nc,3,extra\n'));
    expect(result.records.map((r) => r.prompt)).toEqual(['a', 'b', 'c']);
    expect(result.warnings.filter((w) => w.code === 'ragged-row').map((w) => w.line)).toEqual([3, 4]);
  });

  it('CSV with an unknown column', () => {
    expect(() => readPromptFile(fileOf('r.csv', 'a,b\n1,2\n'), { csv: { promptColumn: 'prompt' } })).toThrow(CsvColumnNotFoundError);
  });

  it('unsupported and oversized files', () => {
    expect(() => readPromptFile(fileOf('sheet.xlsx', 'PK'))).toThrow(UnsupportedFormatError);
    expect(() => readPromptFile(fileOf('big.txt', 'x'.repeat(100)), { maxBytes: 10 })).toThrow(FileTooLargeError);
    expect(() => readPastedText('x'.repeat(100), { maxBytes: 10 })).toThrow(FileTooLargeError);
  });

  it('promptFileFromBlob refuses an oversized Blob before reading it', async () => {
    const blob = Object.assign(new Blob(['hello world']), { name: 'b.txt' });
    await expect(promptFileFromBlob(blob, 4)).rejects.toBeInstanceOf(FileTooLargeError);
    const file = await promptFileFromBlob(blob);
    expect(readPromptFile(file).records[0]!.prompt).toBe('hello world');
  });

  it('caps stored warnings but counts them all', () => {
    const lines = ['{"prompt":"ok"}', ...Array.from({ length: 500 }, () => '{"id":1}')].join('\n');
    const result = readPromptFile(fileOf('w.jsonl', lines));
    expect(result.warningCount).toBe(500);
    expect(result.warnings).toHaveLength(100);
  });
});

describe('readPromptFileAsync', () => {
  const text = jsonl(Array.from({ length: 10_000 }, (_, i) => ({ prompt: `p${i % 9000}` })));

  it('gives the same result as the synchronous reader, with progress', async () => {
    const progress: ReadProgress[] = [];
    const result = await readPromptFileAsync(fileOf('a.jsonl', text), { yieldEvery: 500, onProgress: (p) => progress.push(p) });
    const sync = readPromptFile(fileOf('a.jsonl', text));
    expect(result).toEqual(sync);
    expect(result.records).toHaveLength(9000);
    expect(result.duplicatesDropped).toBe(1000);
    const parse = progress.filter((p) => p.phase === 'parse');
    expect(parse.length).toBeGreaterThanOrEqual(19);
    expect(parse.every((p, i) => i === 0 || p.done >= parse[i - 1]!.done)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', recordsSoFar: 9000 });
  });

  it('lets other tasks run while it parses, and stops when aborted', async () => {
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
      if (ticks === 2) controller.abort();
    }, 0);
    const big = jsonl(Array.from({ length: 200_000 }, (_, i) => ({ prompt: `p${i}` })));
    await expect(
      readPromptFileAsync(fileOf('big.jsonl', big), { signal: controller.signal, yieldEvery: 100 }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(2);
  });

  it('rejects at once with an already-aborted signal, and reports file errors as rejections', async () => {
    await expect(readPastedTextAsync('a', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(readPromptFileAsync(fileOf('e.txt', ''))).rejects.toBeInstanceOf(EmptyFileError);
    await expect(readPromptFileAsync(fileOf('bad.jsonl', '{x\n{"prompt":"a"\n'))).rejects.toBeInstanceOf(MalformedJsonlError);
  });
});

describe('readPromptFile: lines that are not valid UTF-8 cost only what is on them', () => {
  const latin1 = (parts: Array<string | number>) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...new TextEncoder().encode(p)])));

  it('text, one prompt per line: the bad line is skipped, the others kept, with a note on the file', () => {
    const result = readPromptFile(fileOf('mixed.txt', latin1(['What is two plus two?\nCaf', 0xe9, ' au lait?\nName a colour.\n'])));
    expect(result.records.map((r) => [r.prompt, r.source.line])).toEqual([['What is two plus two?', 1], ['Name a colour.', 3]]);
    expect(result.textSplit).toBe('line');
    expect(result.skipped).toEqual({ line: 1 });
    expect(result.warnings.map((w) => [w.code, w.skipped])).toEqual([['invalid-utf8', 'line'], ['partial-file', undefined]]);
    expect(result.warnings[0]!.message).toBe('Line 2 is not valid UTF-8 (invalid byte at offset 25); skipped.');
    expect(result.warnings[1]!.message).toMatch(/^mixed\.txt has 1 line that is not valid UTF-8 \(it may be saved as Latin-1 or Windows-1252\)/);
  });

  it('text in paragraphs: the paragraph holding the bad line is skipped', () => {
    const result = readPromptFile(fileOf('p.txt', latin1(['First\nparagraph.\n\nSecond ', 0xe9, '\nparagraph.\n\nThird\none.\n'])));
    expect(result.textSplit).toBe('paragraph');
    expect(result.records.map((r) => r.prompt)).toEqual(['First\nparagraph.', 'Third\none.']);
    expect(result.skipped).toEqual({ paragraph: 1 });
    expect(result.warnings[0]!.message).toBe('Line 4 is not valid UTF-8 (invalid byte at offset 25); skipped.');
  });

  it('JSONL: the bad lines are skipped before parsing (no second warning), counted as lines', () => {
    const bytes = latin1(['{"prompt": "a"}\n{"prompt": "caf', 0xe9, '"}\n{"prompt": "b"}\n{"prompt": "na', 0xef, 've"}\n']);
    const result = readPromptFile(fileOf('q.jsonl', bytes));
    expect(result.records.map((r) => r.prompt)).toEqual(['a', 'b']);
    expect(result.skipped).toEqual({ line: 2 });
    expect(result.warningCount).toBe(3);
    expect(result.warnings.filter((w) => w.code === 'invalid-utf8').map((w) => w.line)).toEqual([2, 4]);
  });

  it('a JSON list: the item on a bad line is skipped, counted as an item, even when the list parses', () => {
    const bytes = latin1(['[\n  {"prompt": "a"},\n  {\n    "prompt": "caf', 0xe9, '"\n  },\n  "b"\n]\n']);
    const result = readPromptFile(fileOf('l.json', bytes));
    expect(result.records.map((r) => [r.prompt, r.source.item])).toEqual([['a', 1], ['b', 3]]);
    expect(result.skipped).toEqual({ item: 1 });
    expect(result.warnings[0]!.message).toMatch(/^Item 2 \(line 4\) is not valid UTF-8 \(invalid byte at offset \d+\); skipped\.$/);
  });

  it('a JSON document other than a list has no part to skip: refused', () => {
    const error = errorOf(() => readPromptFile(fileOf('o.json', latin1(['{"data": [\n"a",\n"caf', 0xe9, '"\n]}\n']))));
    expect(error).toBeInstanceOf(InvalidUtf8Error);
    expect(error.message).toMatch(/line 3/);
  });

  it('CSV: the row on a bad line is skipped (a row); a bad header line is a note', () => {
    const rows = readPromptFile(fileOf('t.csv', latin1(['prompt,response\nhello,hi\ncaf', 0xe9, ',x\nbye,ciao\n'])));
    expect(rows.records.map((r) => r.prompt)).toEqual(['hello', 'bye']);
    expect(rows.skipped).toEqual({ row: 1 });
    const header = readPromptFile(fileOf('h.csv', latin1(['prompt,r', 0xe9, 'ponse\nhello,hi\n'])));
    expect(header.records.map((r) => r.prompt)).toEqual(['hello']);
    expect(header.skipped).toEqual({});
    expect(header.warnings[0]).toMatchObject({ code: 'invalid-utf8', line: 1 });
    expect(header.warnings[0]!.skipped).toBeUndefined();
  });

  it('a file with no decodable prompt is refused with the encoding advice and the count', () => {
    const error = errorOf(() => readPromptFile(fileOf('all.txt', latin1(['caf', 0xe9, '\nna', 0xef, 've\n']))));
    expect(error).toBeInstanceOf(InvalidUtf8Error);
    expect(error.message).toBe(
      'all.txt is not valid UTF-8: invalid byte at offset 3 (line 1), and 1 more line like it. It may be saved as Latin-1 or Windows-1252; re-save it as UTF-8 and try again.',
    );
  });

  it('the async reader does the same', async () => {
    const result = await readPromptFileAsync(fileOf('mixed.txt', latin1(['a\nb', 0xe9, '\nc\n'])));
    expect(result.records.map((r) => r.prompt)).toEqual(['a', 'c']);
    expect(result.skipped).toEqual({ line: 1 });
  });
});

describe('readPromptFile: what was skipped is counted in the unit read', () => {
  it('a one-line JSON list cut short: 1 item skipped and the file note, not "2 lines"', () => {
    const result = readPromptFile(fileOf('truncated.json', '[{"prompt": "a"}, {"pro'));
    expect(result.records.map((r) => r.prompt)).toEqual(['a']);
    expect(result.skipped).toEqual({ item: 1 });
    expect(result.warningCount).toBe(2);
    expect(result.warnings.map((w) => w.code)).toEqual(['partial-file', 'skipped-item']);
  });

  it('JSONL lines, CSV rows, and notes that skip nothing', () => {
    expect(readPromptFile(fileOf('b.jsonl', '{"prompt": "a"}\n{x\n{"id": 1}\n')).skipped).toEqual({ line: 2 });
    expect(readPromptFile(fileOf('c.csv', 'prompt,response\nhello,hi\n" ",x\n')).skipped).toEqual({ row: 1 });
    const fallback = readPromptFile(fileOf('lines.json', jsonl([{ prompt: 'a' }, { prompt: 'b' }])));
    expect(fallback.skipped).toEqual({});
    expect(fallback.warningCount).toBe(1);
  });
});

