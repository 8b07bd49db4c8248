/**
 * One error class per failure a person can meet when reading a prompt file. Each message says
 * what happened and what to do; `code` is stable for UI logic and tests.
 */

/** Largest file accepted by default: 200 MB (SI, 200 x 10^6 bytes, like every size the page shows).
 *  Bigger inputs would need several copies of the text in worker memory (bytes, string, records),
 *  and no prompt batch needs that much. */
export const MAX_FILE_BYTES = 200e6;

export type PromptFileErrorCode =
  | 'empty-file'
  | 'binary-file'
  | 'invalid-utf8'
  | 'malformed-json'
  | 'malformed-jsonl'
  | 'no-prompts'
  | 'unsupported-format'
  | 'file-too-large'
  | 'csv-column-not-found';

export abstract class PromptFileError extends Error {
  abstract readonly code: PromptFileErrorCode;
  readonly fileName: string;

  protected constructor(fileName: string, message: string) {
    super(message);
    this.fileName = fileName;
    this.name = new.target.name;
  }
}

export class EmptyFileError extends PromptFileError {
  readonly code = 'empty-file';
  constructor(fileName: string, readonly onlyWhitespace = false) {
    super(
      fileName,
      onlyWhitespace
        ? `${fileName} contains only whitespace. Add at least one prompt.`
        : `${fileName} is empty (0 bytes). Choose a file with at least one prompt.`,
    );
  }
}

export class BinaryFileError extends PromptFileError {
  readonly code = 'binary-file';
  /** e.g. "a ZIP archive" when the signature is known. */
  readonly detectedKind: string | undefined;
  constructor(fileName: string, detectedKind?: string) {
    super(
      fileName,
      `${fileName} is not a text file${detectedKind ? ` (it looks like ${detectedKind})` : ''}. ` +
        'Use plain text, JSONL, JSON, CSV or TSV saved as UTF-8.',
    );
    this.detectedKind = detectedKind;
  }
}

export class InvalidUtf8Error extends PromptFileError {
  readonly code = 'invalid-utf8';
  constructor(
    fileName: string,
    /** 0-based byte offset of the first byte that is not valid UTF-8. */
    readonly byteOffset: number,
    /** 1-based line of that byte. */
    readonly line: number,
    /** Lines that are not valid UTF-8 (>= 1): every line that held a prompt was one of them. */
    readonly invalidLineCount = 1,
  ) {
    super(
      fileName,
      `${fileName} is not valid UTF-8: invalid byte at offset ${byteOffset} (line ${line})` +
        `${invalidLineCount > 1 ? `, and ${invalidLineCount - 1} more line${invalidLineCount === 2 ? '' : 's'} like it` : ''}. ` +
        'It may be saved as Latin-1 or Windows-1252; re-save it as UTF-8 and try again.',
    );
  }
}

export class MalformedJsonError extends PromptFileError {
  readonly code = 'malformed-json';
  constructor(
    fileName: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line === undefined ? '' : ` at line ${line}, column ${column ?? 1}`;
    super(fileName, `${fileName} is not valid JSON${where}: ${reason}. Fix the file or save it as JSONL.`);
  }
}

export class MalformedJsonlError extends PromptFileError {
  readonly code = 'malformed-jsonl';
  constructor(
    fileName: string,
    /** 1-based line of the first malformed line. */
    readonly line: number,
    readonly reason: string,
    /** All malformed lines counted in the file (>= 1). */
    readonly malformedLineCount = 1,
  ) {
    const more =
      malformedLineCount > 1 ? ` (${malformedLineCount} malformed lines in total)` : '';
    super(
      fileName,
      `Line ${line} of ${fileName} is not valid JSON: ${reason}${more}. ` +
        'Each line of a JSONL file must be one complete JSON value.',
    );
  }
}

export class NoPromptsFoundError extends PromptFileError {
  readonly code = 'no-prompts';
  constructor(fileName: string, readonly detail: string) {
    super(
      fileName,
      `No prompts found in ${fileName}: ${detail}. Expected plain text lines, strings, or objects with ` +
        'prompt, question, instruction, text or chat messages.',
    );
  }
}

export class UnsupportedFormatError extends PromptFileError {
  readonly code = 'unsupported-format';
  constructor(fileName: string, readonly what: string) {
    super(
      fileName,
      `${fileName} cannot be read: ${what}. Supported: .txt, .jsonl, .json, .csv, .tsv (UTF-8 text).`,
    );
  }
}

export class FileTooLargeError extends PromptFileError {
  readonly code = 'file-too-large';
  constructor(fileName: string, readonly bytes: number, readonly limitBytes: number) {
    super(
      fileName,
      `${fileName} is ${formatMegabytes(bytes)}, over the ${formatMegabytes(limitBytes)} limit. ` +
        'A prompt batch needs far fewer prompts: split the file or keep a sample of it.',
    );
  }
}

export class CsvColumnNotFoundError extends PromptFileError {
  readonly code = 'csv-column-not-found';
  constructor(fileName: string, readonly column: string | number, readonly available: string[]) {
    super(
      fileName,
      `${fileName} has no column ${typeof column === 'number' ? `#${column}` : `"${column}"`}. ` +
        `Columns: ${available.map((name) => `"${name}"`).join(', ')}.`,
    );
  }
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
