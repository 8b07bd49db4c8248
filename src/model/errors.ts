/**
 * One class per failure a person can meet in the model runtime; each message says what happened
 * and what to do. `code` is stable data for the UI (comlink keeps only name and message of an
 * Error, so the worker surface turns these into {@link EngineFailure} values).
 */
export type EngineErrorCode =
  | 'not-initialized'
  | 'model-load'
  | 'tokenizer-load'
  | 'session-create'
  | 'device-lost'
  | 'cancelled'
  | 'busy'
  | 'adapter-invalid'
  | 'adapter-unknown'
  | 'generator-missing'
  | 'generator-invalid'
  | 'encoder-missing'
  | 'worker-crashed'
  | 'bad-request'
  | 'internal';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

export class NotInitializedError extends EngineError {
  constructor(what = 'The model') {
    super('not-initialized', `${what} is not loaded yet. Call init() first (and wait for it to finish).`);
    this.name = 'NotInitializedError';
  }
}

export class ModelLoadError extends EngineError {
  constructor(readonly url: string, detail: string, cause?: unknown) {
    super('model-load', `Could not load ${url}: ${detail}. Check that the model files are served (the build copies models/ into dist/models/; docs/hosting.md) and reload.`, { cause });
    this.name = 'ModelLoadError';
  }
}

export class TokenizerLoadError extends EngineError {
  constructor(detail: string, cause?: unknown) {
    super('tokenizer-load', `Could not load the tokenizer: ${detail}. Check that tokenizer.json and tokenizer_config.json are served beside the model.`, { cause });
    this.name = 'TokenizerLoadError';
  }
}

export class SessionCreateError extends EngineError {
  constructor(backend: string, detail: string, cause?: unknown) {
    super('session-create', `onnxruntime-web could not start the base model on ${backend}: ${detail}.`, { cause });
    this.name = 'SessionCreateError';
  }
}

export class EngineDeviceLostError extends EngineError {
  constructor(detail: string) {
    super('device-lost', `The GPU device was lost (${detail}). Load the model again; the engine starts on a fresh device.`);
    this.name = 'EngineDeviceLostError';
  }
}

export class CancelledError extends EngineError {
  constructor(what = 'The generation') {
    super('cancelled', `${what} was cancelled.`);
    this.name = 'CancelledError';
  }
}

export class BusyError extends EngineError {
  constructor(what: string) {
    super('busy', `${what} is already running; wait for it or cancel it first.`);
    this.name = 'BusyError';
  }
}

/** An adapter that does not fit this base model; the message names the tensor, shape or base. */
export class AdapterValidationError extends EngineError {
  constructor(detail: string, readonly tensor?: string) {
    super('adapter-invalid', `This adapter cannot be used with the loaded base model: ${detail}.`);
    this.name = 'AdapterValidationError';
  }
}

export class UnknownAdapterError extends EngineError {
  constructor(id: string) {
    super('adapter-unknown', `No adapter "${id}" is registered (it may have been removed). Pick another adapter or the base model.`);
    this.name = 'UnknownAdapterError';
  }
}

export class GeneratorMissingError extends EngineError {
  constructor() {
    super('generator-missing', 'No parameter generator is configured for this page, so adapters cannot be generated from prompts yet. Import a PEFT adapter instead, or load the page with a generator.');
    this.name = 'GeneratorMissingError';
  }
}

export class EncoderMissingError extends EngineError {
  constructor(detail: string) {
    super('encoder-missing', `Prompts cannot be encoded: the prompt encoder (the base model's hidden states as trainer/generator/conditions.py computes them) cannot be used: ${detail}. Adapters can still be generated from a precomputed condition, or imported.`);
    this.name = 'EncoderMissingError';
  }
}

/** The worker died (an uncaught error in it); the page ended it, and the next load starts a fresh one. */
export class EngineWorkerCrashedError extends EngineError {
  constructor(detail: string) {
    super('worker-crashed', `The model engine stopped unexpectedly (${detail}). Your prompt sets and saved adapters are kept: load the model again to go on.`);
    this.name = 'EngineWorkerCrashedError';
  }
}

export class BadRequestError extends EngineError {
  constructor(detail: string) {
    super('bad-request', detail);
    this.name = 'BadRequestError';
  }
}

/** Plain data that crosses the worker boundary for any failure. */
export interface EngineFailure {
  code: EngineErrorCode;
  message: string;
  name: string;
}

export function toFailure(error: unknown): EngineFailure {
  if (error instanceof EngineError) return { code: error.code, message: error.message, name: error.name };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: `Unexpected error in the model engine: ${message}`, name: 'Error' };
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
