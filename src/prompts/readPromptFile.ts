/**
 * Entry points: bytes of a dropped/picked file, or pasted text -> ParseResult.
 * decode -> detect -> parse -> dedupe. The synchronous and the async (yielding, cancellable)
 * variants share every step; the async one only pauses between parsed items.
 */
import { RecordCollector, runSteps, runStepsAsync, yieldToEventLoop, type ParseSteps } from './collector';
import { decodePromptBytes, normalisePastedText, type InvalidLine } from './decode';
import { detectFormat, looksLikeJsonl, rejectUnsupportedExtension, sniffFormat } from './detect';
import { FileTooLargeError, InvalidUtf8Error, MAX_FILE_BYTES, NoPromptsFoundError } from './errors';
import { parseCsvSteps } from './parsers/csv';
import { parseJsonSteps } from './parsers/json';
import { parseJsonlSteps } from './parsers/jsonl';
import { parseTextSteps } from './parsers/text';
import { describeSkipped } from './skipped';
import { dedupeRecords } from './summary';
import type {
  AsyncReadOptions,
  ParseResult,
  PromptFileInput,
  PromptFormat,
  ReadOptions,
  ReadProgress,
} from './types';

/** Name used for the paste box in messages and record sources. */
export const PASTED_TEXT_NAME = 'pasted text';

interface PreparedText {
  fileName: string;
  text: string;
  format: PromptFormat;
  formatSource: ParseResult['formatSource'];
  /** Said to the person as a 'format-fallback' warning, e.g. why a .txt was read as JSONL. */
  formatNote?: string;
  /** Lines of the file that are not valid UTF-8: the parts on them are skipped. */
  invalidLines: InvalidLine[];
}

type ParserDetails = Pick<ParseResult, 'textSplit' | 'csv'> & { format: PromptFormat };

export function readPromptFile(file: PromptFileInput, options: ReadOptions = {}): ParseResult {
  const prepared = prepareFile(file, options);
  return finishRead(prepared, options, (out) => runSteps(parserSteps(prepared, out, options), progressReporter(prepared, out, options)));
}

export function readPastedText(text: string, options: ReadOptions & { name?: string } = {}): ParseResult {
  const prepared = preparePaste(text, options);
  return finishRead(prepared, options, (out) => runSteps(parserSteps(prepared, out, options), progressReporter(prepared, out, options)));
}

/** Like readPromptFile, but yields to the event loop every `yieldEvery` items and honours `signal`. */
export async function readPromptFileAsync(file: PromptFileInput, options: AsyncReadOptions = {}): Promise<ParseResult> {
  options.signal?.throwIfAborted();
  const prepared = prepareFile(file, options);
  return readPreparedAsync(prepared, options);
}

export async function readPastedTextAsync(
  text: string,
  options: AsyncReadOptions & { name?: string } = {},
): Promise<ParseResult> {
  options.signal?.throwIfAborted();
  return readPreparedAsync(preparePaste(text, options), options);
}

/**
 * Bytes of a File/Blob, refusing oversize files *before* reading them into memory.
 * (For the page or worker; Node tests build PromptFileInput directly.)
 */
export async function promptFileFromBlob(
  blob: Blob & { name: string },
  maxBytes = MAX_FILE_BYTES,
): Promise<PromptFileInput> {
  if (blob.size > maxBytes) throw new FileTooLargeError(blob.name, blob.size, maxBytes);
  return { name: blob.name, bytes: new Uint8Array(await blob.arrayBuffer()) };
}

async function readPreparedAsync(prepared: PreparedText, options: AsyncReadOptions): Promise<ParseResult> {
  await yieldToEventLoop();
  options.signal?.throwIfAborted();
  const out = new RecordCollector(prepared.fileName, prepared.invalidLines);
  const stepOptions: Parameters<typeof runStepsAsync>[1] = { onStep: progressReporter(prepared, out, options) };
  if (options.signal) stepOptions.signal = options.signal;
  if (options.yieldEvery !== undefined) stepOptions.yieldEvery = options.yieldEvery;
  const details = await runStepsAsync(parserSteps(prepared, out, options), stepOptions);
  options.signal?.throwIfAborted();
  return finishRead(prepared, options, () => details, out);
}

function prepareFile(file: PromptFileInput, options: ReadOptions): PreparedText {
  // Known non-text extensions get their specific advice before any decoding.
  if (!options.format) rejectUnsupportedExtension(file.name);
  options.onProgress?.({ phase: 'decode', done: 0, total: file.bytes.length, recordsSoFar: 0 });
  const decodeOptions = options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {};
  const { text, invalidLines } = decodePromptBytes(file.name, file.bytes, decodeOptions);
  if (options.format) return { fileName: file.name, text, format: options.format, formatSource: 'option', invalidLines };
  const detected = detectFormat(file.name, text);
  if (detected.format === 'text' && looksLikeJsonl(text)) {
    // JSONL saved as .txt: reading each line as a literal prompt would feed "{"prompt": ...}" to the encoder.
    return {
      fileName: file.name,
      text,
      format: 'jsonl',
      formatSource: 'content',
      formatNote: `${file.name} has a text extension but holds one JSON object per line; it was read as JSONL.`,
      invalidLines,
    };
  }
  return { fileName: file.name, text, format: detected.format, formatSource: detected.source, invalidLines };
}

function preparePaste(raw: string, options: ReadOptions & { name?: string }): PreparedText {
  const fileName = options.name ?? PASTED_TEXT_NAME;
  // UTF-8 needs at most 3 bytes per UTF-16 code unit, so only long pastes pay for measuring.
  const limit = options.maxBytes ?? MAX_FILE_BYTES;
  if (raw.length * 3 > limit) {
    const bytes = new TextEncoder().encode(raw).length;
    if (bytes > limit) throw new FileTooLargeError(fileName, bytes, limit);
  }
  const text = normalisePastedText(fileName, raw);
  if (options.format) return { fileName, text, format: options.format, formatSource: 'option', invalidLines: [] };
  return { fileName, text, format: sniffFormat(text), formatSource: 'content', invalidLines: [] };
}

function* parserSteps(prepared: PreparedText, out: RecordCollector, options: ReadOptions): ParseSteps<ParserDetails> {
  const { text, format } = prepared;
  if (prepared.formatNote) out.warn({ code: 'format-fallback', message: prepared.formatNote });
  const jsonlOptions = options.malformedLines ? { malformedLines: options.malformedLines } : {};
  switch (format) {
    case 'text':
      return { format, ...(yield* parseTextSteps(text, out, options.textSplit)) };
    case 'jsonl':
      if (isJsonDocument(text)) {
        // A pretty-printed JSON array saved as .jsonl: every line alone would be "malformed".
        out.warn({ code: 'format-fallback', message: `${prepared.fileName} holds one JSON document, not JSON lines; it was read as JSON.` });
        yield* parseJsonSteps(text, out, jsonlOptions);
        return { format: 'json' };
      }
      yield* parseJsonlSteps(text, out, jsonlOptions);
      return { format };
    case 'json': {
      const details = yield* parseJsonSteps(text, out, jsonlOptions);
      return { format: details.readAsJsonl ? 'jsonl' : 'json' };
    }
    case 'csv':
    case 'tsv': {
      const csvOptions = { ...options.csv };
      if (format === 'tsv' && csvOptions.delimiter === undefined) csvOptions.delimiter = '\t';
      const csv = yield* parseCsvSteps(text, out, csvOptions);
      return { format: csv.columns.delimiter === '\t' ? 'tsv' : format, csv };
    }
  }
}

/** True when the text starts with "[" or "{" and its first line alone is not complete JSON. */
function isJsonDocument(text: string): boolean {
  const start = text.search(/\S/);
  if (start === -1 || (text[start] !== '[' && text[start] !== '{')) return false;
  let end = text.indexOf('\n', start);
  if (end === -1) end = text.length;
  try {
    JSON.parse(text.slice(start, end));
    return false;
  } catch {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }
}

function progressReporter(prepared: PreparedText, out: RecordCollector, options: ReadOptions) {
  const onProgress = options.onProgress;
  if (!onProgress) return undefined;
  return (done: number) =>
    onProgress({ phase: 'parse', done, total: prepared.text.length, recordsSoFar: out.records.length });
}

function finishRead(
  prepared: PreparedText,
  options: ReadOptions,
  parse: (out: RecordCollector) => ParserDetails,
  existing?: RecordCollector,
): ParseResult {
  const out = existing ?? new RecordCollector(prepared.fileName, prepared.invalidLines);
  const details = parse(out);
  const firstInvalid = prepared.invalidLines[0];
  if (out.records.length === 0) {
    // nothing decodes: the encoding is the problem, and its advice the useful message
    if (firstInvalid) throw new InvalidUtf8Error(prepared.fileName, firstInvalid.byteOffset, firstInvalid.line, prepared.invalidLines.length);
    const first = out.warnings.find((w) => w.skipped) ?? out.warnings[0];
    const skipped = describeSkipped(out.skipped);
    throw new NoPromptsFoundError(
      prepared.fileName,
      first
        ? `${skipped || 'nothing usable was found'} (first: ${first.message.replace(/; skipped\.$/, '')})`
        : details.csv
          ? 'the table has no data rows below its header'
          : 'nothing usable was found',
    );
  }
  if (firstInvalid) noteInvalidLines(out, prepared.invalidLines);
  const report = (progress: Omit<ReadProgress, 'total'>) =>
    options.onProgress?.({ ...progress, total: prepared.text.length });
  report({ phase: 'dedupe', done: prepared.text.length, recordsSoFar: out.records.length });
  const deduped = options.dedupe === false ? { records: out.records, duplicatesDropped: 0 } : dedupeRecords(out.records);
  const result: ParseResult = {
    fileName: prepared.fileName,
    format: details.format,
    formatSource: prepared.formatSource,
    records: deduped.records,
    recordsRead: out.records.length,
    duplicatesDropped: deduped.duplicatesDropped,
    warnings: out.warnings,
    warningCount: out.warningCount,
    skipped: { ...out.skipped },
  };
  if (details.textSplit) result.textSplit = details.textSplit;
  if (details.csv) result.csv = details.csv;
  report({ phase: 'done', done: prepared.text.length, recordsSoFar: deduped.records.length });
  return result;
}

/**
 * After a read that kept some prompts of a file with lines that are not valid UTF-8: a note for
 * each such line no skipped part covered (e.g. a CSV header: its bad bytes stay as U+FFFD), and one
 * for the file, with the likely cause and the fix.
 */
function noteInvalidLines(out: RecordCollector, invalidLines: readonly InvalidLine[]): void {
  for (const { line, byteOffset } of out.unreportedInvalidLines()) {
    out.warn({
      code: 'invalid-utf8',
      message: `Line ${line} is not valid UTF-8 (invalid byte at offset ${byteOffset}); it holds no prompt of its own, and its undecodable bytes read as "\uFFFD".`,
      line,
    });
  }
  const n = invalidLines.length;
  out.warn({
    code: 'partial-file',
    message: `${out.fileName} has ${n === 1 ? '1 line that is' : `${n.toLocaleString('en')} lines that are`} not valid UTF-8 (it may be saved as Latin-1 or Windows-1252); `
      + `the rest of the file was read. Re-save it as UTF-8 to keep ${n === 1 ? 'that line' : 'those lines'}.`,
  });
}
