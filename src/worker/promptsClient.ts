/**
 * UI-thread side of the prompt-reading worker. Wraps the comlink surface with:
 * - files sent as transferred ArrayBuffers (no copy),
 * - progress through a `Comlink.proxy` callback,
 * - cancellation by job id (the worker holds one AbortController per job); a job that does not
 *   settle shortly after Cancel is ended by restarting the worker,
 * - crash recovery: when the worker dies, every pending call settles with a `worker-crashed`
 *   failure, a fresh worker is started, and listeners are told.
 *
 * Calls never reject: they resolve to a {@link ReadOutcome} so the UI can show every failure as
 * a message without try/catch around each call.
 */
import * as Comlink from 'comlink';
import type { PromptRecord, ReadProgress } from '../prompts/types';
import type {
  PromptsWorkerApi,
  ReadFailure,
  ReadOutcome,
  WireReadOutcome,
  WorkerReadOptions,
} from './promptsWorker';

export type { ReadFailure, ReadOutcome, WorkerReadOptions } from './promptsWorker';

export interface ReadCallOptions extends WorkerReadOptions {
  onProgress?: (progress: ReadProgress) => void;
  signal?: AbortSignal;
}

/** How long Cancel waits for the worker to stop on its own before the worker is restarted. */
const CANCEL_GRACE_MS = 1500;

interface PendingJob {
  settle: (outcome: ReadOutcome) => void;
  fileName: string;
}

/** Told after a restart; `failedJobs` reads were ended by it (each already reported as failed). */
export type WorkerRestartListener = (reason: string, failedJobs: number) => void;

export class PromptsClient {
  private worker!: Worker;
  private remote!: Comlink.Remote<PromptsWorkerApi>;
  private readonly pending = new Map<number, PendingJob>();
  private readonly restartListeners = new Set<WorkerRestartListener>();
  private nextJobId = 1;
  private disposed = false;

  constructor(private readonly createWorker: () => Worker = createPromptsWorker) {
    this.start();
  }

  /** Read a dropped or picked file; its bytes are transferred to the worker. */
  async readFile(file: Blob & { name: string }, options: ReadCallOptions = {}): Promise<ReadOutcome> {
    let buffer: ArrayBuffer;
    try {
      buffer = await file.arrayBuffer();
    } catch (error) {
      return failure(file.name, 'unreadable', `${file.name} could not be read by the browser (${describe(error)}). Check that the file still exists and try again.`);
    }
    return this.run(file.name, options, (jobId, onProgress) =>
      this.remote.readFile(jobId, file.name, Comlink.transfer(buffer, [buffer]), toWorkerOptions(options), onProgress),
    );
  }

  /** Read text typed or pasted into the page. */
  readPastedText(text: string, name: string, options: ReadCallOptions = {}): Promise<ReadOutcome> {
    return this.run(name, options, (jobId, onProgress) =>
      this.remote.readPastedText(jobId, name, text, toWorkerOptions(options), onProgress),
    );
  }

  onRestart(listener: WorkerRestartListener): () => void {
    this.restartListeners.add(listener);
    return () => {
      this.restartListeners.delete(listener);
    };
  }

  dispose(): void {
    this.disposed = true;
    this.failAllPending('worker-crashed', 'The prompt reader was shut down.');
    this.worker.terminate();
  }

  /** Ends the worker as if it had crashed; used by tests and by Cancel when the worker is stuck. */
  restart(reason: string): void {
    if (this.disposed) return;
    const failedJobs = this.pending.size;
    this.failAllPending('worker-crashed', reason);
    this.worker.terminate();
    this.start();
    for (const listener of this.restartListeners) listener(reason, failedJobs);
  }

  /** Fires the worker's `error` event as a real crash would; for end-to-end tests of recovery. */
  simulateCrash(message = 'simulated crash'): void {
    this.worker.dispatchEvent(new ErrorEvent('error', { message }));
  }

  private start(): void {
    this.worker = this.createWorker();
    this.remote = Comlink.wrap<PromptsWorkerApi>(this.worker);
    const current = this.worker;
    current.addEventListener('error', (event) => {
      event.preventDefault();
      if (current !== this.worker) return;
      const detail = event.message ? `: ${event.message}` : '';
      this.restart(`The prompt reader stopped unexpectedly${detail}. It has been restarted; load the file again.`);
    });
    current.addEventListener('messageerror', () => {
      if (current !== this.worker) return;
      this.restart('The prompt reader sent a message the page could not read. It has been restarted; load the file again.');
    });
  }

  private run(
    fileName: string,
    options: ReadCallOptions,
    call: (jobId: number, onProgress: ((p: ReadProgress) => void) | undefined) => Promise<WireReadOutcome>,
  ): Promise<ReadOutcome> {
    if (options.signal?.aborted) return Promise.resolve(cancelled(fileName));
    const jobId = this.nextJobId++;
    const progressProxy = options.onProgress ? Comlink.proxy(options.onProgress) : undefined;
    return new Promise<ReadOutcome>((resolve) => {
      let settled = false;
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        void this.remote.cancel(jobId).catch(() => undefined);
        graceTimer = setTimeout(() => {
          if (!settled) this.restart(`Reading ${fileName} did not stop when cancelled, so the prompt reader was restarted.`);
        }, CANCEL_GRACE_MS);
      };
      const settle = (outcome: ReadOutcome) => {
        if (settled) return;
        settled = true;
        this.pending.delete(jobId);
        clearTimeout(graceTimer);
        options.signal?.removeEventListener('abort', onAbort);
        // A job cancelled by the user reads as cancelled even if the worker had to be restarted.
        resolve(options.signal?.aborted && !outcome.ok ? cancelled(fileName) : outcome);
      };
      this.pending.set(jobId, { settle, fileName });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      call(jobId, progressProxy).then((wire) => settle(fromWire(wire, fileName)), (error: unknown) =>
        settle(failure(fileName, 'internal', `Reading ${fileName} failed inside the prompt reader: ${describe(error)}.`)),
      );
    });
  }

  private failAllPending(code: 'worker-crashed', message: string): void {
    for (const [, job] of this.pending) job.settle(failure(job.fileName, code, message));
    this.pending.clear();
  }
}

function fromWire(wire: WireReadOutcome, fileName: string): ReadOutcome {
  if (!wire.ok) return wire;
  let records: PromptRecord[];
  try {
    records = JSON.parse(wire.recordsJson) as PromptRecord[];
  } catch (error) {
    return failure(fileName, 'internal', `The prompts read from ${fileName} could not be handed to the page (${describe(error)}).`);
  }
  return { ok: true, result: { ...wire.result, records }, summary: wire.summary };
}

function createPromptsWorker(): Worker {
  return new Worker(new URL('./promptsWorker.ts', import.meta.url), { type: 'module', name: 'prompts' });
}

function toWorkerOptions({ onProgress: _onProgress, signal: _signal, ...rest }: ReadCallOptions): WorkerReadOptions {
  return rest;
}

function failure(fileName: string, code: ReadFailure['code'], message: string): ReadOutcome {
  return { ok: false, error: { code, message, fileName } };
}

function cancelled(fileName: string): ReadOutcome {
  return failure(fileName, 'cancelled', `Reading ${fileName} was cancelled.`);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

let sharedClient: PromptsClient | undefined;

/** The page's one prompt reader, started on first use. */
export function getPromptsClient(): PromptsClient {
  sharedClient ??= new PromptsClient();
  return sharedClient;
}
