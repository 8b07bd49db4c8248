/**
 * Worker surface for reading prompt files, kept thin: it calls the pure readers in src/prompts,
 * turns their errors into plain data (comlink would keep only name and message), throttles progress,
 * and holds one AbortController per job so the page can cancel by job id.
 */
import * as Comlink from 'comlink';
import {
  PromptFileError,
  readPastedTextAsync,
  readPromptFileAsync,
  summarizePrompts,
  type AsyncReadOptions,
  type ParseResult,
  type PromptFileErrorCode,
  type PromptSummary,
  type ReadOptions,
  type ReadProgress,
} from '../prompts';

/** Options the page may pass; callbacks and signals are handled by the worker surface itself. */
export type WorkerReadOptions = Pick<ReadOptions, 'format' | 'csv' | 'textSplit' | 'malformedLines' | 'dedupe'>;

export type ReadFailureCode = PromptFileErrorCode | 'cancelled' | 'internal' | 'worker-crashed' | 'unreadable';

export interface ReadFailure {
  code: ReadFailureCode;
  /** For people: what happened and what to do. */
  message: string;
  fileName: string;
  /** 1-based line the problem is on, where the reader knows it. */
  line?: number;
}

export type ReadOutcome =
  | { ok: true; result: ParseResult; summary: PromptSummary }
  | { ok: false; error: ReadFailure };

/**
 * What crosses the worker boundary. Records travel as one JSON string: structured-cloning 250k
 * small objects costs the page about half a second, parsing one string about a tenth of that.
 */
export type WireReadOutcome =
  | { ok: true; result: Omit<ParseResult, 'records'>; recordsJson: string; summary: PromptSummary }
  | { ok: false; error: ReadFailure };

type ProgressCallback = (progress: ReadProgress) => void;

/** Progress messages are sent at most this often (phase changes always go through). */
const PROGRESS_INTERVAL_MS = 80;
/** First prompts shown in the summary. */
const SUMMARY_SAMPLES = 5;

const jobs = new Map<number, AbortController>();

const api = {
  async readFile(
    jobId: number,
    name: string,
    buffer: ArrayBuffer,
    options: WorkerReadOptions,
    onProgress?: ProgressCallback,
  ): Promise<WireReadOutcome> {
    return runJob(jobId, name, (signal, progress) =>
      readPromptFileAsync({ name, bytes: new Uint8Array(buffer) }, asyncOptions(options, signal, progress)),
    onProgress);
  },

  async readPastedText(
    jobId: number,
    name: string,
    text: string,
    options: WorkerReadOptions,
    onProgress?: ProgressCallback,
  ): Promise<WireReadOutcome> {
    return runJob(jobId, name, (signal, progress) =>
      readPastedTextAsync(text, { ...asyncOptions(options, signal, progress), name }),
    onProgress);
  },

  /** Asks a running job to stop at its next pause; unknown ids (already finished) are ignored. */
  cancel(jobId: number): void {
    jobs.get(jobId)?.abort();
  },
};

export type PromptsWorkerApi = typeof api;

async function runJob(
  jobId: number,
  fileName: string,
  read: (signal: AbortSignal, onProgress: ProgressCallback | undefined) => Promise<ParseResult>,
  onProgress: ProgressCallback | undefined,
): Promise<WireReadOutcome> {
  const controller = new AbortController();
  jobs.set(jobId, controller);
  try {
    const { records, ...result } = await read(controller.signal, onProgress && throttle(onProgress));
    const summary = summarizePrompts(records, { sampleCount: SUMMARY_SAMPLES });
    return { ok: true, result, recordsJson: JSON.stringify(records), summary };
  } catch (error) {
    return { ok: false, error: toFailure(error, fileName, controller.signal.aborted) };
  } finally {
    jobs.delete(jobId);
  }
}

function asyncOptions(options: WorkerReadOptions, signal: AbortSignal, onProgress: ProgressCallback | undefined): AsyncReadOptions {
  const result: AsyncReadOptions = { ...options, signal };
  if (onProgress) result.onProgress = onProgress;
  return result;
}

function throttle(send: ProgressCallback): ProgressCallback {
  let lastSent = 0;
  let lastPhase: ReadProgress['phase'] | undefined;
  return (progress) => {
    const now = performance.now();
    if (progress.phase === lastPhase && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastSent = now;
    lastPhase = progress.phase;
    // The page may be gone or the proxy released; progress is best effort.
    void Promise.resolve(send(progress)).catch(() => undefined);
  };
}

function toFailure(error: unknown, fileName: string, aborted: boolean): ReadFailure {
  if (aborted) return { code: 'cancelled', message: `Reading ${fileName} was cancelled.`, fileName };
  if (error instanceof PromptFileError) {
    const failure: ReadFailure = { code: error.code, message: error.message, fileName: error.fileName };
    const line = (error as { line?: unknown }).line;
    if (typeof line === 'number') failure.line = line;
    return failure;
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    code: 'internal',
    message: `Reading ${fileName} failed unexpectedly (${detail}). The file was not loaded; other prompt sets are unaffected.`,
    fileName,
  };
}

Comlink.expose(api);
