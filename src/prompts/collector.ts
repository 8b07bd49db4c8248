/**
 * What parsers write into, and how they are driven. Parsers are generators that yield the number of
 * characters consumed after each item, so the same parser runs to the end synchronously or pauses
 * between items (readPromptFileAsync) to keep a worker responsive and cancellable.
 */
import type { ParseWarning, PromptRecord, PromptSource } from './types';
import type { ExtractResult } from './shapes';

/** Warnings kept in a result; the rest are only counted (100k bad lines must not become 100k objects). */
export const MAX_STORED_WARNINGS = 100;

export class RecordCollector {
  readonly records: PromptRecord[] = [];
  readonly warnings: ParseWarning[] = [];
  warningCount = 0;

  constructor(readonly fileName: string) {}

  warn(warning: ParseWarning): void {
    this.warningCount++;
    if (this.warnings.length < MAX_STORED_WARNINGS) this.warnings.push(warning);
  }

  /** Adds an extracted record, or a warning that names where and why it was skipped. */
  addExtracted(result: ExtractResult, where: { line?: number; item?: number }): void {
    const source: PromptSource = { file: this.fileName, ...where };
    if (result.ok) {
      const record: PromptRecord = { prompt: result.prompt, source };
      if (result.response !== undefined) record.response = result.response;
      if (result.system !== undefined) record.system = result.system;
      this.records.push(record);
      return;
    }
    const label = where.line !== undefined ? `Line ${where.line}` : `Item ${where.item ?? '?'}`;
    this.warn({ code: result.code, message: `${label} ${result.reason}; skipped.`, ...where });
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
