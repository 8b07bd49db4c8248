/**
 * From a condition to an adapter: one run at a time (`AdapterRun`: Cancel between stages, and in
 * step-through mode a pause after each decoder block), the prompts or answered rows encoded
 * (src/engine/generator.ts), the generator on WebGPU or the CPU (src/model/generatedAdapter.ts), the
 * adapter sized (src/model/adapterSizing.ts: a version-2 gate, an "answer" gate's measurement, or
 * examples mode's validation gate), applied at that strength and registered, each stage told through
 * `onStage` with its measured time. Also the two sizing measurements on a registered adapter
 * (`measureAnswerFeatures`, `validationNll`), for checks.
 */
import { MAX_PROMPT_TOKENS } from '../evaluate/scoring';
import type { Heatmap } from '../generator/runtime';
import { sizeAdapter, sizingRunsModel, type SizingRequest } from '../model/adapterSizing';
import { measureAnswerFeatures as measureAnswers, type AnswerFeatureResult, type AnswerSettings } from '../model/answerFeatures';
import type { ConditionTemplate, EncodedPrompts } from '../model/encoder';
import { BadRequestError, BusyError, CancelledError, GeneratorMissingError } from '../model/errors';
import { applyGate, generateOnCpu, generateOnGpu } from '../model/generatedAdapter';
import { scoringRow, validationNll as scoreValidation, type AnsweredRow } from '../model/validationGate';
import { chatAnswerText } from '../prompts/answered';
import type { Loaded, SessionLock } from './session';
import type { GenerateAdapterOptions, GenerateAdapterStage, GeneratedAdapterSummary } from './types';

/** A running adapter generation: its cancel signal and, in step-through mode, the pause gate. */
interface AdapterRun {
  abort: AbortController;
  stepping: boolean;
  release?: () => void;
}

/** What adapter generation needs of the engine (src/engine/engine.ts). */
export interface AdapterGenerationHost {
  /** The load, or the typed error (not loaded, device lost). */
  ready(): Loaded;
  /** Waits for the warm-up after a WebAssembly load (src/engine/generator.ts `WarmUp`). */
  settled(): Promise<void>;
  /** The session's one-thing-at-a-time lock. */
  lock: SessionLock;
  /** Texts -> the generator's condition (after the warm-up, holding the session); `template` overrides the manifest's. */
  encodeTexts(prompts: string[], template?: ConditionTemplate): Promise<EncodedPrompts>;
}

/** The token that closes a chat turn (a scored response ends with it). */
const IM_END_TOKEN = '<|im_end|>';

/** Adapter generation on the engine's session: at most one run at a time. */
export class AdapterGeneration {
  private run?: AdapterRun;

  constructor(private readonly host: AdapterGenerationHost) {}

  /**
   * A LoRA generated from P prompts: `encodePrompts` + `generateAdapterFromCondition`. Cancelling
   * while the prompts are encoded takes effect when the encoder returns (one ORT run).
   */
  async generateAdapter(
    prompts: string[], name = 'generated', onStage?: (s: GenerateAdapterStage) => void, options: GenerateAdapterOptions = {},
  ): Promise<GeneratedAdapterSummary> {
    const { generator } = this.host.ready();
    if (!generator) throw new GeneratorMissingError();
    const run = this.beginAdapterRun(options);
    try {
      const t0 = performance.now();
      const encoded = await this.host.encodeTexts(prompts);
      throwIfCancelled(run);
      await onStage?.({ stage: 'encode', ms: performance.now() - t0, layer: null });
      return await this.generateWith(run, encoded.condition, name, onStage, { mode: 'prompts', prompts: [...prompts] });
    } finally {
      this.endAdapterRun(run);
    }
  }

  /**
   * Examples mode: a LoRA generated from P answered rows (`condition`: the first P are used), each
   * rendered in the manifest's `examples.template` ("chat-answer": the user turn and the assistant's
   * answer, both closed) and encoded through the same window as prompts; the adapter is then sized by
   * the validation gate on up to `examples.validation_rows` of `validation` (rows not in the
   * condition), or on the condition's own rows when `validation` is empty (an optimistic choice the
   * result says it made). Needs a generator whose manifest has `examples`.
   */
  async generateAdapterFromExamples(
    condition: AnsweredRow[], validation: AnsweredRow[], name = 'generated', onStage?: (s: GenerateAdapterStage) => void,
    options: GenerateAdapterOptions = {},
  ): Promise<GeneratedAdapterSummary> {
    const { generator } = this.host.ready();
    if (!generator) throw new GeneratorMissingError();
    const spec = generator.loaded.manifest.examples;
    if (!spec) throw new BadRequestError('This generator reads prompts only (its manifest has no examples section), so it cannot use the answers.');
    const p = generator.loaded.manifest.encoder.prompt_count;
    const rows = condition.slice(0, p);
    if (rows.length < p) throw new BadRequestError(`Examples mode needs ${p} answered rows for the condition; got ${rows.length}.`);
    for (const r of [...rows, ...validation]) {
      if (typeof r?.prompt !== 'string' || typeof r.response !== 'string' || r.response.trim() === '') {
        throw new BadRequestError('Every row of examples mode needs a prompt and a non-empty response.');
      }
    }
    const run = this.beginAdapterRun(options);
    try {
      const t0 = performance.now();
      const encoded = await this.host.encodeTexts(rows.map((r) => chatAnswerText(r)), 'plain');
      throwIfCancelled(run);
      await onStage?.({ stage: 'encode', ms: performance.now() - t0, layer: null });
      return await this.generateWith(run, encoded.condition, name, onStage, {
        mode: 'examples', condition: rows, validation: validation.slice(0, spec.validation_rows),
      });
    } finally {
      this.endAdapterRun(run);
    }
  }

  /**
   * A LoRA generated from a condition (B = 1, the manifest's (P, L, C) as float32), registered as
   * an adapter whose inputs stay on the GPU; stages stream back through `onStage`.
   */
  async generateAdapterFromCondition(
    condition: Float32Array, name: string, onStage?: (s: GenerateAdapterStage) => void, options: GenerateAdapterOptions = {},
  ): Promise<GeneratedAdapterSummary> {
    const { generator } = this.host.ready();
    if (!generator) throw new GeneratorMissingError();
    const run = this.beginAdapterRun(options);
    try {
      return await this.generateWith(run, condition, name, onStage, { mode: 'prompts', prompts: options.prompts ? [...options.prompts] : null });
    } finally {
      this.endAdapterRun(run);
    }
  }

  private async generateWith(
    run: AdapterRun, condition: Float32Array, name: string, onStage: ((s: GenerateAdapterStage) => void) | undefined, request: SizingRequest,
  ): Promise<GeneratedAdapterSummary> {
    await this.host.settled();
    const { generator, model, registry, shape, tokenizer } = this.host.ready();
    if (!generator) throw new GeneratorMissingError();
    const stage = async (t: { stage: string; ms: number }, layer: number | null, snapshot?: Heatmap) => {
      const pause = layer !== null && run.stepping && !run.abort.signal.aborted;
      await onStage?.({ stage: t.stage, ms: t.ms, layer, ...(snapshot ? { snapshot } : {}), ...(pause ? { paused: true } : {}) });
      if (pause) {
        // The worker stays responsive while waiting: continue/cancel messages resolve the gate.
        await new Promise<void>((resolve) => {
          run.release = resolve;
        });
        run.release = undefined;
      }
      throwIfCancelled(run);
    };
    const { signal } = run.abort;
    const onGpu = model.device !== undefined && generator.runtime !== undefined;
    const raw = onGpu
      ? await generateOnGpu(generator, condition, shape, name, stage, signal)
      : await generateOnCpu(generator, condition, shape, name, stage, signal);
    // cancelled while the LoRA was read back: register nothing
    throwIfCancelled(run);
    const tSize = performance.now();
    const sizing = await this.host.lock.whileBusy(run.abort, (cancel) => sizeAdapter({
      handle: generator, model, registry, cancel, encode: (text) => tokenizer.encode(text),
      imEnd: tokenizer.raw.convert_tokens_to_ids(IM_END_TOKEN),
    }, raw, condition, request));
    throwIfCancelled(run);
    let applyStart = tSize;
    if (sizingRunsModel(generator, request)) {
      await onStage?.({ stage: 'gate', ms: performance.now() - tSize, layer: null });
      throwIfCancelled(run);
      applyStart = performance.now();
    }
    applyGate(raw.data.matrices, sizing.strength);
    const summary = registry.add(raw.data);
    await onStage?.({
      stage: 'apply', ms: raw.readMs + performance.now() - applyStart, layer: null,
      ...(sizing.gate ? { gate: sizing.gate } : {}), ...(sizing.validation ? { validation: sizing.validation } : {}),
    });
    return { ...summary, gate: sizing.gate, mode: request.mode, validation: sizing.validation, answerFeatures: sizing.answer?.values ?? null };
  }

  /** Stops the running adapter generation before its next stage; true when one was running. Nothing is registered. */
  cancelAdapterGeneration(): boolean {
    const run = this.run;
    if (!run) return false;
    if (!run.abort.signal.aborted) run.abort.abort(new CancelledError('Generating the adapter'));
    run.release?.();
    return true;
  }

  /**
   * Step-through: lets a run paused after a decoder block go on, to the next block's pause ('next')
   * or without further pauses ('to-end'). False when no run is paused.
   */
  continueAdapterGeneration(mode: 'next' | 'to-end' = 'next'): boolean {
    const run = this.run;
    if (!run?.release) return false;
    if (mode === 'to-end') run.stepping = false;
    run.release();
    return true;
  }

  private beginAdapterRun(options: GenerateAdapterOptions): AdapterRun {
    if (this.run) throw new BusyError('Generating an adapter');
    const run: AdapterRun = { abort: new AbortController(), stepping: options.stepThrough === true };
    this.run = run;
    return run;
  }

  private endAdapterRun(run: AdapterRun): void {
    if (this.run === run) this.run = undefined;
  }

  /**
   * The "answer" gate feature (src/model/answerFeatures.ts) of a registered adapter (null: the zero
   * adapter, i.e. the base model) on `prompts`: the base model's greedy tokens, then the adapter's
   * log-probs at the positions that predict them. `settings` default to the loaded generator's
   * `gate.answer`.
   */
  async measureAnswerFeatures(prompts: string[], adapter: string | null, settings?: AnswerSettings): Promise<AnswerFeatureResult> {
    const { model, registry, tokenizer, generator } = this.host.ready();
    const fromManifest = generator?.loaded.manifest.gate?.answer;
    const use = settings ?? (fromManifest ? { tokens: fromManifest.tokens, maxPromptTokens: fromManifest.max_prompt_tokens } : null);
    if (!use) throw new BadRequestError('Say how many answer tokens and prompt tokens to use: the loaded generator has no answer gate.');
    if (!Number.isInteger(use.tokens) || use.tokens < 1 || !Number.isInteger(use.maxPromptTokens) || use.maxPromptTokens < 1) {
      throw new BadRequestError('Answer tokens and prompt tokens must be positive integers.');
    }
    if (prompts.length === 0) throw new BadRequestError('The answer feature needs at least one prompt.');
    const base = registry.feeds(null);
    const adapted = registry.feeds(adapter);
    return this.host.lock.whileBusy(null, (cancel) => measureAnswers(model, (t) => tokenizer.encode(t), prompts, { base, adapted }, use, cancel));
  }

  /**
   * The validation gate's measurement (src/model/validationGate.ts) of a registered adapter on answered
   * rows: the mean response NLL at each of `grid`'s scales (every B times the scale).
   */
  async validationNll(rows: AnsweredRow[], adapter: string, grid: number[]): Promise<{ nll: number[]; tokens: number }> {
    const { model, registry, tokenizer } = this.host.ready();
    if (rows.length === 0) throw new BadRequestError('There are no rows to score.');
    const data = registry.get(adapter);
    const imEnd = tokenizer.raw.convert_tokens_to_ids(IM_END_TOKEN);
    const scored = rows.map((r) => scoringRow((t) => tokenizer.encode(t), imEnd, r, MAX_PROMPT_TOKENS));
    return this.host.lock.whileBusy(null, (cancel) => scoreValidation(model, scored, grid, (scale, use) => registry.withFeeds(data, scale, use), cancel));
  }
}

function throwIfCancelled(run: AdapterRun): void {
  if (run.abort.signal.aborted) throw new CancelledError('Generating the adapter');
}
