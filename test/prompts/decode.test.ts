import { describe, expect, it } from 'vitest';
import { decodePromptBytes, findInvalidUtf8, looksBinary } from '../../src/prompts/decode';
import {
  BinaryFileError,
  EmptyFileError,
  FileTooLargeError,
  InvalidUtf8Error,
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

  it('reports invalid UTF-8 with the byte offset and line', () => {
    // "ok\nbad é" with é in Latin-1 (0xE9) followed by ASCII.
    const bytes = Uint8Array.from([...utf8('ok\nbad '), 0xe9, 0x20, 0x78]);
    let caught: unknown;
    try {
      decodePromptBytes('latin1.txt', bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidUtf8Error);
    const error = caught as InvalidUtf8Error;
    expect(error.byteOffset).toBe(7);
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/offset 7 \(line 2\)/);
  });

  it('refuses files over the limit before decoding', () => {
    expect(MAX_FILE_BYTES).toBe(200 * 1024 * 1024);
    expect(() => decodePromptBytes('big.txt', utf8('hello world'), { maxBytes: 5 })).toThrow(FileTooLargeError);
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
