/**
 * Public types of the prompt-reading modules. Everything here is plain data so it can cross a
 * worker boundary (structured clone) unchanged.
 */

/** Formats the readers understand. `tsv` is CSV with a tab delimiter. */
export type PromptFormat = 'text' | 'jsonl' | 'json' | 'csv' | 'tsv';

/** Where a record came from, for messages and for "show me that line". */
export interface PromptSource {
  file: string;
  /** 1-based line where the record starts (text, JSONL, CSV/TSV). */
  line?: number;
  /** 1-based position in a JSON array (JSON has no useful line per item). */
  item?: number;
}

export interface PromptRecord {
  prompt: string;
  response?: string;
  system?: string;
  source: PromptSource;
}

export type ParseWarningCode =
  | 'skipped-item' // a line/item/row that holds no usable prompt
  | 'empty-prompt'
  | 'invalid-utf8' // a line that is not valid UTF-8: the prompt on it is skipped
  | 'partial-file' // a note on the whole file: some parts could not be read, the rest was kept
  | 'ragged-row' // CSV row with a different number of fields than the header
  | 'csv-syntax' // quote problems etc. reported by papaparse
  | 'format-fallback'; // e.g. a .json file that is really JSONL

/**
 * What one skipped part of a file is, in the unit the file was read in: a line (text, JSONL), a
 * paragraph (text split at blank lines), an item (JSON list) or a row (CSV/TSV).
 */
export type SkippedUnit = 'line' | 'paragraph' | 'item' | 'row';

/** How many parts were skipped, per unit (a merged set may mix units). */
export type SkippedCounts = Partial<Record<SkippedUnit, number>>;

export interface ParseWarning {
  code: ParseWarningCode;
  message: string;
  line?: number;
  item?: number;
  /** Set when the warning stands for one skipped part (a prompt lost); absent for notes (a changed reading, a file-level remark). */
  skipped?: SkippedUnit;
}

/** How a plain-text file was split into prompts. */
export type TextSplitMode = 'line' | 'paragraph';

export interface ParseResult {
  /** The name given by the caller ("pasted text" for the paste box). */
  fileName: string;
  format: PromptFormat;
  /** How the format was chosen: forced by the caller, from the extension, or sniffed from content. */
  formatSource: 'option' | 'extension' | 'content';
  /** Unique prompts, in file order (first occurrence kept). */
  records: PromptRecord[];
  /** Records read before de-duplication. */
  recordsRead: number;
  /** Exact duplicates (after whitespace normalisation) that were dropped. */
  duplicatesDropped: number;
  /** The first MAX_STORED_WARNINGS warnings; `warningCount` is the full count. */
  warnings: ParseWarning[];
  warningCount: number;
  /**
   * Parts of the input skipped, counted in full (not capped like `warnings`), per unit. Absent in
   * prompt sets saved before it was counted.
   */
  skipped?: SkippedCounts;
  /** Set for text files. */
  textSplit?: TextSplitMode;
  /** Set for CSV/TSV: the columns found and the choice used. */
  csv?: { columns: CsvColumnList; choice: CsvColumnChoice };
}

/** A CSV column is chosen by header name or by 0-based index. */
export type CsvColumnRef = string | number;

export interface CsvColumnChoice {
  promptColumn: CsvColumnRef;
  responseColumn?: CsvColumnRef;
  systemColumn?: CsvColumnRef;
}

export interface CsvColumnInfo {
  index: number;
  /** Header text, or "Column N" (1-based) when the file has no header row. */
  name: string;
  /** Mean character length of non-empty cells in the rows inspected. */
  meanLength: number;
  /** Share of inspected rows where the cell is non-empty, 0..1. */
  filled: number;
  /** Up to three non-empty example cells, cut to 120 characters. */
  samples: string[];
}

export interface CsvColumnList {
  delimiter: string;
  hasHeader: boolean;
  columns: CsvColumnInfo[];
  /** Default choice: a column named prompt/question/text/instruction/input, else the longest text. */
  suggested: CsvColumnChoice;
  /** Data rows inspected to build this list (the preview, not necessarily the whole file). */
  rowsInspected: number;
}

export interface CsvParseOptions extends Partial<CsvColumnChoice> {
  /** Force the delimiter; default: papaparse's guess among , \t ; | */
  delimiter?: string;
  /** Force header / no header; default: detected. */
  hasHeader?: boolean;
}

export type ReadPhase = 'decode' | 'parse' | 'dedupe' | 'done';

export interface ReadProgress {
  phase: ReadPhase;
  /** Characters of text consumed so far in the parse phase (0..total). */
  done: number;
  total: number;
  recordsSoFar: number;
}

export interface ReadOptions {
  /** Skip detection and use this format. */
  format?: PromptFormat;
  /** Column choice for CSV/TSV; missing columns are guessed. */
  csv?: CsvParseOptions;
  /** Force how a text file is split; default: detected. */
  textSplit?: TextSplitMode;
  /** JSONL lines that are not JSON: skip each with a warning (default; no valid line fails the file) or fail naming the line. */
  malformedLines?: 'error' | 'skip';
  /** Largest accepted input in bytes; default MAX_FILE_BYTES (200 MB). */
  maxBytes?: number;
  /** Drop duplicate prompts (default true). */
  dedupe?: boolean;
  onProgress?: (progress: ReadProgress) => void;
}

export interface AsyncReadOptions extends ReadOptions {
  signal?: AbortSignal;
  /** Yield to the event loop after this many parsed items (default 2000). */
  yieldEvery?: number;
}

/** Bytes of one dropped or picked file. */
export interface PromptFileInput {
  name: string;
  bytes: Uint8Array;
}
