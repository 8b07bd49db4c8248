import { describe, expect, it } from 'vitest';
import { decodePromptBytes, findInvalidLines, findInvalidUtf8, looksBinary } from '../../src/prompts/decode';
import {
  BinaryFileError,
  EmptyFileError,
  FileTooLargeError,
  MAX_FILE_BYTES,
} from '../../src/prompts/errors';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('decodePromptBytes', () => {
  it('decodes UTF-8 and strips a UTF-8 BOM', () => {
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('héllo ✓ 🙂')]);
    const decoded = decodePromptBytes('a.txt', bytes);
    expect(decoded.text).toBe('héllo ✓ 🙂');
    expect(decoded.hadBom).toBe(true);
  });

  it('decodes UTF-16 LE and BE text with a BOM (Excel "Unicode text" exports)', () => {
    const le = [0xff, 0xfe, 0x68, 0x00, 0x69, 0x00];
    const be = [0xfe, 0xff, 0x00, 0x68, 0x00, 0x69];
    expect(decodePromptBytes('a.txt', Uint8Array.from(le))).toMatchObject({ text: 'hi', encoding: 'utf-16le' });
    expect(decodePromptBytes('a.txt', Uint8Array.from(be))).toMatchObject({ text: 'hi', encoding: 'utf-16be' });
  });

  it('rejects an empty file and a whitespace-only file', () => {
    expect(() => decodePromptBytes('e.txt', new Uint8Array())).toThrow(EmptyFileError);
    expect(() => decodePromptBytes('e.txt', new Uint8Array())).toThrow(/e\.txt is empty/);
    expect(() => decodePromptBytes('w.txt', utf8(' \n\t\r\n'))).toThrow(/only whitespace/);
  });

  it('rejects binary files: NUL bytes, many control bytes, known signatures', () => {
    expect(() => decodePromptBytes('b.bin', Uint8Array.from([0x61, 0x00, 0x62]))).toThrow(BinaryFileError);
    const noisy = Uint8Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 0x01 : 0x61));
    expect(() => decodePromptBytes('n.dat', noisy)).toThrow(BinaryFileError);
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x61, 0x62]);
    expect(() => decodePromptBytes('sheet.csv', zip)).toThrow(/ZIP archive/);
    const pdf = utf8('%PDF-1.7\nrest');
    expect(() => decodePromptBytes('doc.txt', pdf)).toThrow(/PDF document/);
  });

  it('names UTF-16 text that lacks a byte-order mark', () => {
    const le = Uint8Array.from([...'hello\n'].flatMap((c) => [c.charCodeAt(0), 0]));
    expect(() => decodePromptBytes('u16.txt', le)).toThrow(/UTF-16 text without a byte-order mark/);
  });

  it('accepts tabs, CRLF and ANSI escapes as text', () => {
    expect(looksBinary(utf8('a\tb\r\nc \u001b[31mred\u001b[0m\n'))).toBe(false);
  });

  it('finds the lines that are not valid UTF-8 and keeps every line of the text', () => {
    // "ok", "bad é x" with é in Latin-1 (0xE9), "fine", a lone 0xFF, then a truncated sequence at the end
    const bytes = Uint8Array.from([...utf8('ok\nbad '), 0xe9, ...utf8(' x\nfine\n'), 0xff, ...utf8('\nend '), 0xe2, 0x82]);
    const decoded = decodePromptBytes('latin1.txt', bytes);
    expect(decoded.invalidLines).toEqual([
      { line: 2, byteOffset: 7 },
      { line: 4, byteOffset: 16 },
      { line: 5, byteOffset: 22 },
    ]);
    const lines = decoded.text.split('\n');
    expect(lines).toHaveLength(5);
    expect([lines[0], lines[2]]).toEqual(['ok', 'fine']);
    expect(lines[1]).toBe('bad \uFFFD x');
  });

  it('reports no invalid line for valid UTF-8', () => {
    expect(decodePromptBytes('ok.txt', utf8('aé€\n𝄞\n')).invalidLines).toEqual([]);
  });

  it('refuses files over the limit before decoding', () => {
    expect(MAX_FILE_BYTES).toBe(200e6);
    expect(() => decodePromptBytes('big.txt', utf8('hello world'), { maxBytes: 5 })).toThrow(FileTooLargeError);
  });
});

describe('findInvalidLines', () => {
  it('gives one entry per bad line, at its first bad byte, and scans each line afresh', () => {
    const bytes = Uint8Array.from([0xc3, 0x28, 0xff, 0x0a, ...utf8('é\n'), 0x61, 0xed, 0xa0, 0x80, 0x0a]);
    expect(findInvalidLines(bytes)).toEqual([{ line: 1, byteOffset: 0 }, { line: 3, byteOffset: 8 }]);
    expect(findInvalidLines(utf8('all\ngood\n'))).toEqual([]);
  });

  it('starts findInvalidUtf8 at an offset', () => {
    const bytes = Uint8Array.from([0xff, 0x0a, 0x61, 0xfe]);
    expect(findInvalidUtf8(bytes)).toBe(0);
    expect(findInvalidUtf8(bytes, 2)).toBe(3);
  });
});

describe('findInvalidUtf8', () => {
  it('accepts all well-formed sequences', () => {
    expect(findInvalidUtf8(utf8('aé€𝄞\u{10FFFF}'))).toBe(-1);
  });
  it.each([
    ['lone continuation byte', [0x61, 0x80], 1],
    ['overlong 2-byte', [0xc0, 0xaf], 0],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf], 0],
    ['UTF-16 surrogate', [0x61, 0xed, 0xa0, 0x80], 1],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['truncated at end', [0x61, 0x62, 0xe2, 0x82], 2],
    ['invalid lead byte', [0xff], 0],
  ])('%s', (_label, bytes, offset) => {
    expect(findInvalidUtf8(Uint8Array.from(bytes))).toBe(offset);
    // Agrees with the platform's strict decoder on validity.
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes))).toThrow();
  });
});
