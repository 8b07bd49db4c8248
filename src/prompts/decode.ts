/**
 * Bytes -> text. Strict UTF-8, line by line: a line that is not valid UTF-8 is reported (with its
 * byte offset) so the reader skips the prompt on it instead of turning bytes into U+FFFD prompts,
 * and the other lines are kept. Byte-order marks honoured, binary files recognised before decoding.
 */
import {
  BinaryFileError,
  EmptyFileError,
  FileTooLargeError,
  MAX_FILE_BYTES,
} from './errors';

/** How much of the start of a file the binary check looks at. */
export const BINARY_SNIFF_BYTES = 8192;
/** Above this share of control characters in the sniffed bytes, a file is treated as binary. */
export const BINARY_CONTROL_RATIO = 0.1;

/** Signatures of file kinds people are likely to drop by mistake (spreadsheets, archives, PDFs). */
const SIGNATURES: ReadonlyArray<{ bytes: readonly number[]; kind: string }> = [
  { bytes: [0x50, 0x4b, 0x03, 0x04], kind: 'a ZIP archive (.xlsx, .docx and .zip are ZIP files)' },
  { bytes: [0x1f, 0x8b], kind: 'a gzip archive' },
  { bytes: [0x25, 0x50, 0x44, 0x46, 0x2d], kind: 'a PDF document' },
  { bytes: [0x89, 0x50, 0x4e, 0x47], kind: 'a PNG image' },
  { bytes: [0xff, 0xd8, 0xff], kind: 'a JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], kind: 'a GIF image' },
  { bytes: [0xd0, 0xcf, 0x11, 0xe0], kind: 'an old Office document (.xls / .doc)' },
  { bytes: [0x50, 0x41, 0x52, 0x31], kind: 'a Parquet file' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf], kind: 'a 7-Zip archive' },
];

export interface DecodeOptions {
  maxBytes?: number;
}

/** A line that is not valid UTF-8. */
export interface InvalidLine {
  /** 1-based line number. */
  line: number;
  /** 0-based byte offset (in the file) of the first byte that is not valid UTF-8. */
  byteOffset: number;
}

export interface DecodedText {
  /** The text; on invalid lines, each undecodable byte sequence is U+FFFD (line breaks are kept). */
  text: string;
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be';
  hadBom: boolean;
  /** Lines that are not valid UTF-8, ascending (empty for a valid file). */
  invalidLines: InvalidLine[];
}

/** Decode a dropped file's bytes, or throw a PromptFileError that says why it cannot be read. */
export function decodePromptBytes(
  fileName: string,
  bytes: Uint8Array,
  options: DecodeOptions = {},
): DecodedText {
  if (bytes.length === 0) throw new EmptyFileError(fileName);
  const limit = options.maxBytes ?? MAX_FILE_BYTES;
  if (bytes.length > limit) throw new FileTooLargeError(fileName, bytes.length, limit);

  // UTF-16 text is full of NUL bytes, so its BOM must be recognised before the binary check.
  const utf16 = utf16FromBom(bytes);
  if (utf16) {
    const text = new TextDecoder(utf16, { fatal: false }).decode(bytes.subarray(2));
    return finish(fileName, text, utf16, true);
  }

  const kind = knownBinaryKind(bytes);
  if (kind !== undefined) throw new BinaryFileError(fileName, kind);
  if (looksLikeUtf16WithoutBom(bytes)) throw new BinaryFileError(fileName, 'UTF-16 text without a byte-order mark');
  if (looksBinary(bytes)) throw new BinaryFileError(fileName);

  const hadBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  try {
    // ignoreBOM: false (the default) makes the decoder drop a leading UTF-8 BOM.
    return finish(fileName, new TextDecoder('utf-8', { fatal: true }).decode(bytes), 'utf-8', hadBom);
  } catch (error) {
    if (error instanceof EmptyFileError) throw error;
  }
  // The decoder does not say where it failed; find the lines ourselves (only on this slow path).
  // The replacing decoder never swallows a line break (an ASCII byte ends a bad sequence), so the
  // text keeps the file's lines and their numbers.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return finish(fileName, text, 'utf-8', hadBom, findInvalidLines(bytes));
}

/** Every line holding a byte sequence that is not valid UTF-8, with the first such byte's offset. */
export function findInvalidLines(bytes: Uint8Array): InvalidLine[] {
  const out: InvalidLine[] = [];
  let line = 1;
  let counted = 0; // line breaks are counted up to here
  let from = 0;
  for (;;) {
    const offset = findInvalidUtf8(bytes, from);
    if (offset === -1) return out;
    for (let i = counted; i < offset; i++) if (bytes[i] === 0x0a) line++;
    out.push({ line, byteOffset: offset });
    const end = bytes.indexOf(0x0a, offset);
    if (end === -1) return out;
    // a line starts after a line break (ASCII, never inside a sequence): scan it afresh
    counted = end + 1;
    line++;
    from = end + 1;
  }
}

/** Pasted text needs no decoding, but gets the same emptiness check and BOM removal. */
export function normalisePastedText(fileName: string, text: string): string {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (clean.length === 0) throw new EmptyFileError(fileName);
  if (clean.trim().length === 0) throw new EmptyFileError(fileName, true);
  return clean;
}

function finish(
  fileName: string,
  text: string,
  encoding: DecodedText['encoding'],
  hadBom: boolean,
  invalidLines: InvalidLine[] = [],
): DecodedText {
  if (text.trim().length === 0) throw new EmptyFileError(fileName, true);
  return { text, encoding, hadBom, invalidLines };
}

function utf16FromBom(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

export function knownBinaryKind(bytes: Uint8Array): string | undefined {
  for (const signature of SIGNATURES) {
    if (signature.bytes.every((value, index) => bytes[index] === value)) return signature.kind;
  }
  return undefined;
}

/** ASCII-range UTF-16: every other byte of the start is NUL (at even offsets for BE, odd for LE). */
function looksLikeUtf16WithoutBom(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, BINARY_SNIFF_BYTES) & ~1;
  if (end < 4) return false;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < end; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  const pairs = end / 2;
  return (oddZeros > 0.9 * pairs && evenZeros < 0.1 * pairs) || (evenZeros > 0.9 * pairs && oddZeros < 0.1 * pairs);
}

/** NUL bytes, or many control characters, in the first few KB mean "not text". */
export function looksBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, BINARY_SNIFF_BYTES);
  let control = 0;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b === 0) return true;
    // Tab, LF, VT, FF, CR and ESC (ANSI colours in logs) are normal in text files.
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b) || b === 0x7f) {
      control++;
    }
  }
  return end > 0 && control / end > BINARY_CONTROL_RATIO;
}

/**
 * Offset of the first byte at or after `from` that starts an invalid UTF-8 sequence, or -1 when all
 * bytes are valid. Follows the Unicode "well-formed UTF-8" table: no overlongs, no surrogates,
 * nothing past U+10FFFF. `from` must be the start of a sequence (e.g. after a line break).
 */
export function findInvalidUtf8(bytes: Uint8Array, from = 0): number {
  const n = bytes.length;
  let i = from;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b === 0xe0) (length = 3), (low = 0xa0);
    else if (b === 0xed) (length = 3), (high = 0x9f);
    else if (b >= 0xe1 && b <= 0xef) length = 3;
    else if (b === 0xf0) (length = 4), (low = 0x90);
    else if (b === 0xf4) (length = 4), (high = 0x8f);
    else if (b >= 0xf1 && b <= 0xf3) length = 4;
    else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      const lo = k === 1 ? low : 0x80;
      const hi = k === 1 ? high : 0xbf;
      if (c === undefined || c < lo || c > hi) return i;
    }
    i += length;
  }
  return -1;
}
