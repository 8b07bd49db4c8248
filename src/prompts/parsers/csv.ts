/**
 * CSV / TSV through papaparse: header detection, a column list for the "choose the column" UI
 * (`listCsvColumns`), and parsing with a chosen prompt (and optional response/system) column.
 */
import Papa from 'papaparse';
import { RecordCollector, runSteps, type ParseSteps } from '../collector';
import { CsvColumnNotFoundError } from '../errors';
import type {
  CsvColumnChoice,
  CsvColumnInfo,
  CsvColumnList,
  CsvColumnRef,
  CsvParseOptions,
  ParseWarning,
  PromptRecord,
} from '../types';

/** Header names that mark the prompt column, in order of preference. */
const PROMPT_NAMES = ['prompt', 'question', 'text', 'instruction', 'input', 'query', 'sentence', 'content'];
const RESPONSE_NAMES = ['response', 'answer', 'output', 'completion', 'target', 'label'];
const SYSTEM_NAMES = ['system', 'systemprompt'];
const KNOWN_NAMES = new Set([...PROMPT_NAMES, ...RESPONSE_NAMES, ...SYSTEM_NAMES, 'id', 'context', 'category']);
const DELIMITERS_TO_GUESS = [',', '\t', ';', '|'];
/** Rows inspected for header detection, column statistics and the default choice. */
const PREVIEW_ROWS = 200;

interface CsvRow {
  cells: string[];
  line: number;
}

interface CsvRows {
  rows: CsvRow[];
  delimiter: string;
  /** Quote problems etc., already phrased for people. */
  problems: ParseWarning[];
}

/** Rows with the 1-based line each starts on (quoted cells may span lines, so rows != lines). */
function readCsvRows(text: string, delimiter: string | undefined, preview = 0): CsvRows {
  const rows: CsvRow[] = [];
  const problems: ParseWarning[] = [];
  let previousCursor = 0;
  let countedTo = 0;
  let lineAtCountedTo = 1;
  let usedDelimiter = delimiter ?? ',';
  Papa.parse<string[]>(text, {
    delimiter: delimiter ?? '',
    delimitersToGuess: DELIMITERS_TO_GUESS,
    skipEmptyLines: 'greedy',
    preview,
    step: (result) => {
      // papaparse's cursor is the end of the row just read; the row began at the previous cursor,
      // after any blank lines that were skipped.
      let start = previousCursor;
      while (start < text.length && /\s/.test(text[start]!)) start++;
      for (let i = text.indexOf('\n', countedTo); i !== -1 && i < start; i = text.indexOf('\n', i + 1)) {
        lineAtCountedTo++;
      }
      countedTo = start;
      previousCursor = result.meta.cursor;
      usedDelimiter = result.meta.delimiter;
      const line = lineAtCountedTo;
      rows.push({ cells: result.data, line });
      for (const error of result.errors) {
        if (error.code === 'UndetectableDelimiter') continue; // one column: fine
        problems.push({ code: 'csv-syntax', message: `Line ${line}: ${error.message}.`, line });
      }
    },
  });
  return { rows, delimiter: usedDelimiter, problems };
}

/** Columns of a CSV/TSV text with statistics and a suggested choice, for the column chooser. */
export function listCsvColumns(text: string, options: CsvParseOptions = {}): CsvColumnList {
  const { rows, delimiter } = readCsvRows(text, options.delimiter, PREVIEW_ROWS + 1);
  return describeColumns(rows, delimiter, options.hasHeader);
}

function describeColumns(rows: CsvRow[], delimiter: string, forcedHeader: boolean | undefined): CsvColumnList {
  const first = rows[0]?.cells ?? [];
  const hasHeader = forcedHeader ?? detectHeader(rows.map((row) => row.cells));
  const body = rows.slice(hasHeader ? 1 : 0, (hasHeader ? 1 : 0) + PREVIEW_ROWS).map((row) => row.cells);
  const width = Math.max(first.length, ...body.map((cells) => cells.length));
  const columns: CsvColumnInfo[] = [];
  for (let index = 0; index < width; index++) {
    const values = body.map((cells) => cells[index] ?? '').filter((cell) => cell.trim().length > 0);
    const headerName = hasHeader ? first[index]?.trim() : undefined;
    columns.push({
      index,
      name: headerName ? headerName : `Column ${index + 1}`,
      meanLength: values.length ? values.reduce((sum, cell) => sum + cell.length, 0) / values.length : 0,
      filled: body.length ? values.length / body.length : 0,
      samples: values.slice(0, 3).map((cell) => (cell.length > 120 ? `${cell.slice(0, 119)}…` : cell)),
    });
  }
  return { delimiter, hasHeader, columns, suggested: suggestColumns(columns, hasHeader, body), rowsInspected: body.length };
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function isNumeric(cell: string): boolean {
  return /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(cell);
}

/**
 * A first row is a header when it names a known column, or when it is short, distinct, non-numeric
 * labels above a numeric column or above much longer text.
 */
export function detectHeader(rows: string[][]): boolean {
  const first = rows[0];
  if (!first) return false;
  if (first.some((cell) => KNOWN_NAMES.has(normaliseName(cell)))) return true;
  const body = rows.slice(1, PREVIEW_ROWS + 1);
  if (body.length === 0) return false;
  if (first.some((cell) => cell.trim() === '' || cell.length > 40 || isNumeric(cell))) return false;
  if (new Set(first).size !== first.length) return false;
  let shorterColumns = 0;
  for (let index = 0; index < first.length; index++) {
    const cells = body.map((cells) => cells[index] ?? '').filter((cell) => cell.trim().length > 0);
    if (cells.length === 0) continue;
    if (cells.filter(isNumeric).length / cells.length > 0.8) return true;
    const mean = cells.reduce((sum, cell) => sum + cell.length, 0) / cells.length;
    if (first[index]!.length * 2 < mean) shorterColumns++;
  }
  return shorterColumns * 2 > first.length;
}

function suggestColumns(columns: CsvColumnInfo[], hasHeader: boolean, body: string[][]): CsvColumnChoice {
  const byName = (names: string[], exclude?: number): number | undefined => {
    if (!hasHeader) return undefined;
    for (const name of names) {
      const column = columns.find((c) => normaliseName(c.name) === name && c.index !== exclude);
      if (column) return column.index;
    }
    return undefined;
  };
  let prompt = byName(PROMPT_NAMES);
  if (prompt === undefined) {
    // The longest text column that is mostly filled and not numbers (ids, labels).
    const textual = columns.filter((column) => {
      const cells = body.map((cells) => cells[column.index] ?? '').filter((cell) => cell.trim());
      return cells.length > 0 && cells.filter(isNumeric).length / cells.length < 0.5;
    });
    const candidates = textual.length > 0 ? textual : columns;
    prompt = candidates.reduce((best, column) =>
      column.meanLength * Math.max(column.filled, 0.01) > best.meanLength * Math.max(best.filled, 0.01) ? column : best,
    columns[0]!).index;
  }
  const choice: CsvColumnChoice = { promptColumn: columnRefFor(columns, prompt, hasHeader) };
  const response = byName(RESPONSE_NAMES, prompt);
  if (response !== undefined) choice.responseColumn = columnRefFor(columns, response, hasHeader);
  const system = byName(SYSTEM_NAMES, prompt);
  if (system !== undefined) choice.systemColumn = columnRefFor(columns, system, hasHeader);
  return choice;
}

/** Refer to columns by header name when there is one (stable when columns are reordered). */
function columnRefFor(columns: CsvColumnInfo[], index: number, hasHeader: boolean): CsvColumnRef {
  return hasHeader ? columns[index]!.name : index;
}

function resolveColumn(ref: CsvColumnRef, columns: CsvColumnInfo[], fileName: string): number {
  const names = columns.map((column) => column.name);
  if (typeof ref === 'number') {
    if (Number.isInteger(ref) && ref >= 0 && ref < columns.length) return ref;
    throw new CsvColumnNotFoundError(fileName, ref, names);
  }
  const exact = names.indexOf(ref);
  if (exact !== -1) return exact;
  const loose = names.findIndex((name) => name.trim().toLowerCase() === ref.trim().toLowerCase());
  if (loose !== -1) return loose;
  throw new CsvColumnNotFoundError(fileName, ref, names);
}

/** Columns chosen by names that all appear in the first row mean that row is the header. */
function headerFromChoice(first: string[] | undefined, options: CsvParseOptions): boolean | undefined {
  const names = [options.promptColumn, options.responseColumn, options.systemColumn].filter(
    (ref): ref is string => typeof ref === 'string',
  );
  if (!first || names.length === 0) return undefined;
  const cells = new Set(first.map((cell) => cell.trim()));
  return names.every((name) => cells.has(name.trim())) ? true : undefined;
}

/** True for header names such as "prompt", "Question", "system_prompt". */
export function isKnownColumnName(name: string): boolean {
  return KNOWN_NAMES.has(normaliseName(name));
}

export interface CsvParseDetails {
  columns: CsvColumnList;
  choice: CsvColumnChoice;
}

export function* parseCsvSteps(
  text: string,
  out: RecordCollector,
  options: CsvParseOptions = {},
): ParseSteps<CsvParseDetails> {
  // papaparse reads the whole string in one call (its streaming mode cannot be driven by a generator
  // without callbacks); building records is what the steps spread out.
  const { rows, delimiter, problems } = readCsvRows(text, options.delimiter);
  const columns = describeColumns(rows, delimiter, options.hasHeader ?? headerFromChoice(rows[0]?.cells, options));
  const choice: CsvColumnChoice = {
    promptColumn: options.promptColumn ?? columns.suggested.promptColumn,
  };
  const response = options.responseColumn ?? (options.promptColumn === undefined ? columns.suggested.responseColumn : undefined);
  const system = options.systemColumn ?? (options.promptColumn === undefined ? columns.suggested.systemColumn : undefined);
  if (response !== undefined) choice.responseColumn = response;
  if (system !== undefined) choice.systemColumn = system;

  const promptIndex = resolveColumn(choice.promptColumn, columns.columns, out.fileName);
  const responseIndex = response === undefined ? undefined : resolveColumn(response, columns.columns, out.fileName);
  const systemIndex = system === undefined ? undefined : resolveColumn(system, columns.columns, out.fileName);
  for (const problem of problems) out.warn(problem);

  const expected = rows[0]?.cells.length ?? 0;
  const firstData = columns.hasHeader ? 1 : 0;
  for (let i = firstData; i < rows.length; i++) {
    const { cells, line } = rows[i]!;
    // a row runs to the line before the next one (a quoted cell may hold line breaks)
    const lastLine = (rows[i + 1]?.line ?? Number.MAX_SAFE_INTEGER) - 1;
    if (out.skipUndecodable({ line }, Math.max(line, lastLine), 'row')) {
      yield Math.round(((i + 1) / rows.length) * text.length);
      continue;
    }
    if (cells.length !== expected) {
      out.warn({
        code: 'ragged-row',
        message: `Line ${line} has ${cells.length} field${cells.length === 1 ? '' : 's'}, expected ${expected}.`,
        line,
      });
    }
    const prompt = cells[promptIndex];
    if (prompt === undefined) {
      out.warn({ code: 'skipped-item', message: `Line ${line} has no "${columns.columns[promptIndex]!.name}" field; skipped.`, line, skipped: 'row' });
    } else {
      const responseCell = responseIndex === undefined ? undefined : cells[responseIndex];
      const systemCell = systemIndex === undefined ? undefined : cells[systemIndex];
      out.addExtracted(
        prompt.trim().length === 0
          ? { ok: false, code: 'empty-prompt', reason: 'has an empty prompt' }
          : {
              ok: true,
              prompt,
              ...(responseCell !== undefined && responseCell !== '' ? { response: responseCell } : {}),
              ...(systemCell !== undefined && systemCell !== '' ? { system: systemCell } : {}),
            },
        { line },
        'row',
      );
    }
    yield Math.round(((i + 1) / rows.length) * text.length);
  }
  return { columns, choice };
}

export interface CsvParseOutput {
  records: PromptRecord[];
  warnings: ParseWarning[];
  warningCount: number;
  columns: CsvColumnList;
  choice: CsvColumnChoice;
}

/** Parse a whole CSV/TSV text with the given (or suggested) columns. */
export function parseCsv(text: string, options: CsvParseOptions = {}, fileName = 'csv'): CsvParseOutput {
  const out = new RecordCollector(fileName);
  const details = runSteps(parseCsvSteps(text, out, options));
  return { records: out.records, warnings: out.warnings, warningCount: out.warningCount, ...details };
}
