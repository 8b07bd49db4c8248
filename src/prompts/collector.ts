/**
 * What parsers write into, and how they are driven. Parsers are generators that yield the number of
 * characters consumed after each item, so the same parser runs to the end synchronously or pauses
 * between items (readPromptFileAsync) to keep a worker responsive and cancellable.
 */
import type { InvalidLine } from './decode';
import type { ParseWarning, PromptRecord, PromptSource, SkippedCounts, SkippedUnit } from './types';
import type { ExtractResult } from './shapes';

/** Warnings kept in a result; the rest are only counted (100k bad lines must not become 100k objects). */
export const MAX_STORED_WARNINGS = 100;

export class RecordCollector {
  readonly records: PromptRecord[] = [];
  readonly warnings: ParseWarning[] = [];
  warningCount = 0;
  /** Skipped parts per unit, counted in full (warnings are capped). */
  readonly skipped: SkippedCounts = {};
  /** Lines that are not valid UTF-8, ascending (their text holds U+FFFD, not the file's bytes). */
  private readonly invalid: readonly InvalidLine[];
  private readonly invalidReported = new Set<number>();

  constructor(readonly fileName: string, invalidLines: readonly InvalidLine[] = []) {
    this.invalid = [...invalidLines].sort((a, b) => a.line - b.line);
  }

  warn(warning: ParseWarning): void {
    this.warningCount++;
    if (warning.skipped) this.skipped[warning.skipped] = (this.skipped[warning.skipped] ?? 0) + 1;
    if (this.warnings.length < MAX_STORED_WARNINGS) this.warnings.push(warning);
  }

  /** Adds an extracted record, or a warning that names where and why it was skipped (one `unit`). */
  addExtracted(result: ExtractResult, where: { line?: number; item?: number }, unit: SkippedUnit): void {
    const source: PromptSource = { file: this.fileName, ...where };
    if (result.ok) {
      const record: PromptRecord = { prompt: result.prompt, source };
      if (result.response !== undefined) record.response = result.response;
      if (result.system !== undefined) record.system = result.system;
      this.records.push(record);
      return;
    }
    const label = where.item !== undefined ? `Item ${where.item}` : `Line ${where.line ?? '?'}`;
    this.warn({ code: result.code, message: `${label} ${result.reason}; skipped.`, ...where, skipped: unit });
  }

  get hasInvalidLines(): boolean {
    return this.invalid.length > 0;
  }

  /** The first line in `first..last` (1-based, inclusive) that is not valid UTF-8. */
  invalidLineIn(first: number, last: number): InvalidLine | undefined {
    let lo = 0;
    let hi = this.invalid.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.invalid[mid]!.line < first) lo = mid + 1;
      else hi = mid;
    }
    const found = this.invalid[lo];
    return found && found.line <= last ? found : undefined;
  }

  /**
   * When one of lines `where.line..lastLine` is not valid UTF-8, skips that part: one warning
   * naming the line and byte, counted as one `unit`; true when skipped. The part's text cannot be
   * trusted (its bad bytes were read as U+FFFD), so it is neither parsed nor kept.
   */
  skipUndecodable(where: { line: number; item?: number }, lastLine: number, unit: SkippedUnit): boolean {
    const bad = this.invalidLineIn(where.line, lastLine);
    if (!bad) return false;
    for (const entry of this.invalid) if (entry.line >= where.line && entry.line <= lastLine) this.invalidReported.add(entry.line);
    const what = `is not valid UTF-8 (invalid byte at offset ${bad.byteOffset})`;
    const message =
      where.item !== undefined ? `Item ${where.item} (line ${bad.line}) ${what}; skipped.`
      : bad.line === where.line ? `Line ${bad.line} ${what}; skipped.`
      : `Line ${bad.line} ${what}; the ${unit} starting on line ${where.line} was skipped.`;
    this.warn({ code: 'invalid-utf8', message, line: bad.line, ...(where.item !== undefined ? { item: where.item } : {}), skipped: unit });
    return true;
  }

  /** Invalid lines no skipped part covered (e.g. a CSV header): their bad bytes stay as U+FFFD. */
  unreportedInvalidLines(): InvalidLine[] {
    return this.invalid.filter((entry) => !this.invalidReported.has(entry.line));
  }
}

/** Yields characters consumed so far; returns parser-specific details. */
export type ParseSteps<T> = Generator<number, T, void>;

export function runSteps<T>(steps: ParseSteps<T>, onStep?: (done: number) => void, every = 5000): T {
  let count = 0;
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (onStep && ++count % every === 0) onStep(next.value);
  }
}

export interface AsyncStepOptions {
  signal?: AbortSignal;
  yieldEvery?: number;
  onStep?: (done: number) => void;
}

export async function runStepsAsync<T>(steps: ParseSteps<T>, options: AsyncStepOptions = {}): Promise<T> {
  const every = Math.max(1, options.yieldEvery ?? 2000);
  let count = 0;
  options.signal?.throwIfAborted();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (++count % every === 0) {
      options.onStep?.(next.value);
      await yieldToEventLoop();
      options.signal?.throwIfAborted();
    }
  }
}

/** A macrotask break, so messages (a cancel from the page) are handled between chunks. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
