/**
 * Which parser reads a text: by file extension first; when there is none or it is unknown
 * (pasted text, "prompts.dat"), by looking at the content.
 */
import Papa from 'papaparse';
import { UnsupportedFormatError } from './errors';
import { isKnownColumnName } from './parsers/csv';
import type { PromptFormat } from './types';

const EXTENSIONS: Readonly<Record<string, PromptFormat>> = {
  txt: 'text',
  text: 'text',
  md: 'text',
  prompt: 'text',
  prompts: 'text',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  jsonlines: 'jsonl',
  json: 'json',
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
};

/** Extensions people may drop that we recognise but cannot read, with what to do instead. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  xlsx: 'Excel workbooks are not read; export the sheet as CSV',
  xls: 'Excel workbooks are not read; export the sheet as CSV',
  ods: 'spreadsheets are not read; export the sheet as CSV',
  parquet: 'Parquet files are not read; convert to JSONL',
  arrow: 'Arrow files are not read; convert to JSONL',
  docx: 'Word documents are not read; save as plain text',
  pdf: 'PDF documents are not read; copy the prompts into a .txt file',
  zip: 'archives are not read; unpack them and drop the files inside',
  gz: 'compressed files are not read; decompress first',
};

export interface DetectedFormat {
  format: PromptFormat;
  source: 'extension' | 'content';
}

export function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(dot + 1).toLowerCase() : '';
}

/** Throws UnsupportedFormatError for known non-text extensions (before any bytes are decoded). */
export function rejectUnsupportedExtension(fileName: string): void {
  const reason = UNSUPPORTED[extensionOf(fileName)];
  if (reason !== undefined) throw new UnsupportedFormatError(fileName, reason);
}

export function detectFormat(fileName: string, text: string): DetectedFormat {
  rejectUnsupportedExtension(fileName);
  const byExtension = EXTENSIONS[extensionOf(fileName)];
  if (byExtension) return { format: byExtension, source: 'extension' };
  return { format: sniffFormat(text), source: 'content' };
}

/** Content sniffing looks at this much of the start of the text. */
const SNIFF_CHARS = 64 * 1024;

export function sniffFormat(text: string): PromptFormat {
  const head = text.slice(0, SNIFF_CHARS);
  const trimmed = head.trimStart();
  if (trimmed.startsWith('[')) return 'json';
  if (trimmed.startsWith('{')) return looksLikeJsonl(head) ? 'jsonl' : 'json';
  return sniffTable(head) ?? 'text';
}

/**
 * The first few (up to 3, at least 2) non-empty lines each parse, on their own, as a JSON object.
 * Strong enough to read a .txt file as JSONL; a prompt list almost never looks like that.
 */
export function looksLikeJsonl(text: string): boolean {
  const lines = nonEmptyLines(text.slice(0, SNIFF_CHARS), 3);
  // The last line of a cut slice may be incomplete; judge it only when the slice is the whole text.
  const judged = text.length > SNIFF_CHARS && lines.length === 3 ? lines.slice(0, 2) : lines;
  if (judged.length < 2) return false;
  return judged.every((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    } catch {
      return false;
    }
  });
}

function nonEmptyLines(text: string, limit: number): string[] {
  const lines: string[] = [];
  for (let start = 0; start < text.length && lines.length < limit; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    if (line.length > 0) lines.push(line);
    start = end + 1;
  }
  return lines;
}

/**
 * A table when the first rows split into the same number (>= 2) of fields. Tabs are rare in prose,
 * so that is enough for TSV. Commas are common in prose, so CSV also needs a header of
 * identifier-like names ("prompt,response", "id,question,answer") that either includes a known
 * column name or sits above at least three rows. Anything else reads as text; the caller can
 * still force `format: 'csv'`.
 */
function sniffTable(head: string): 'csv' | 'tsv' | undefined {
  // Drop the possibly cut last line of the sniffed slice.
  const cut = head.length === SNIFF_CHARS ? head.slice(0, head.lastIndexOf('\n') + 1) : head;
  for (const delimiter of ['\t', ','] as const) {
    const parsed = Papa.parse<string[]>(cut, { delimiter, preview: 20, skipEmptyLines: 'greedy' });
    const rows = parsed.data;
    if (rows.length < 2) continue;
    const width = rows[0]!.length;
    if (width < 2 || !rows.every((row) => row.length === width)) continue;
    if (delimiter === '\t') return 'tsv';
    const header = rows[0]!;
    if (!header.every((cell) => /^[A-Za-z_][\w.-]{0,39}$/.test(cell.trim()))) continue;
    if (header.some(isKnownColumnName) || (rows.length >= 4 && header.every((cell) => cell === cell.trim()))) {
      return 'csv';
    }
  }
  return undefined;
}
