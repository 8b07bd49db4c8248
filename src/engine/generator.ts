/**
 * The parameter generator inside the engine: loading it after the base model (WGSL on WebGPU; without
 * WebGPU its layers as ONNX graphs on onnxruntime-web's WebAssembly backend, the TypeScript reference
 * as the fallback or when asked for), what it is (`generatorInfo`: P, L, the window, the gate, its
 * decoder blocks), the condition's shape and the prompt encoder's run that makes it, and the warm-up
 * after a WebAssembly load. Turning a condition into an adapter is src/engine/adapterGeneration.ts.
 */
import {
  DEFAULT_MAX_TOKENS, DEFAULT_PROMPT_COUNT, EMPTY_PROMPT_TOKEN, encodeIds, encodePrompts as encodeWith, idWindow,
  type ConditionShape, type ConditionTemplate, type EncodedPrompts,
} from '../model/encoder';
import { EncoderMissingError, describeError } from '../model/errors';
import { attachCpuRuntime, createGenerator, type GeneratorHandle } from '../model/generatedAdapter';
import { wasmGraphSession } from '../model/generatorSessions';
import { nextMacrotask } from '../model/generate';
import { hiddenStatesRun } from '../model/hiddenStates';
import type { LoraShape } from '../model/adapters';
import type { FileLoader } from '../model/fileLoader';
import type { Loaded, ReportInit } from './session';
import type { EngineInfo, EngineInitOptions, GeneratorBlock, GeneratorInfo } from './types';

/**
 * Loads the configured generator (`options.generator`) through the load's files onto `device` (none:
 * the CPU), recording in `engineInfo` whether it is ready, where it runs and any notice. An optional
 * generator that fails leaves the base model working (`generator: 'unavailable'` with the reason);
 * otherwise the failure fails the load. Undefined when none is configured or it is unavailable.
 */
export async function loadGenerator(
  options: EngineInitOptions, files: FileLoader, device: GPUDevice | undefined, shape: LoraShape, engineInfo: EngineInfo, report: ReportInit,
): Promise<GeneratorHandle | undefined> {
  if (!options.generator) return undefined;
  let generator: GeneratorHandle | undefined;
  report('session', 'Loading the parameter generator');
  try {
    const manifest = new TextDecoder().decode(await files.bytes(options.generator.manifestUrl));
    const genWeights = await files.bytes(options.generator.weightsUrl, (p) => report('model', 'Loading the parameter generator', p));
    generator = createGenerator(device, manifest, genWeights, shape);
    engineInfo.generator = 'ready';
    engineInfo.generatorBackend = generator.runtime ? 'webgpu' : 'reference';
    if (!generator.runtime && options.cpuGenerator === 'reference') {
      const asked = 'As asked, the parameter generator runs on its TypeScript reference: the same adapters, about 40 times slower.';
      engineInfo.notice = engineInfo.notice ? `${engineInfo.notice} ${asked}` : asked;
    } else if (!generator.runtime) {
      report('session', 'Starting the parameter generator on the CPU');
      try {
        await attachCpuRuntime(generator, wasmGraphSession);
        engineInfo.generatorBackend = 'wasm';
      } catch (e) {
        // the reference gives the same adapter, only slower: say so and go on
        const why = `The parameter generator's WebAssembly graphs did not start (${describeError(e)}), so it runs on its TypeScript reference: the same adapters, about 40 times slower.`;
        engineInfo.notice = engineInfo.notice ? `${engineInfo.notice} ${why}` : why;
      }
    }
  } catch (e) {
    if (!options.generatorOptional) throw e;
    engineInfo.generator = 'unavailable';
    engineInfo.generatorError = describeError(e);
  }
  return generator;
}

/** The loaded generator's prompt count and decoder blocks (for explaining the stages); null without one. */
export function generatorInfo(loaded: Loaded): GeneratorInfo | null {
  const { generator } = loaded;
  if (!generator) return null;
  const { manifest } = generator.loaded;
  const { features, kernel_sizes: kernels } = manifest.decoder;
  const blocks = kernels.map((kernel, index): GeneratorBlock => {
    const input = [...(features[index] as readonly number[])] as [number, number, number];
    const output = [...(features[index + 1] as readonly number[])] as [number, number, number];
    return { index, input, output, kernel, residual: input.every((v, i) => v === output[i]) };
  });
  const shape = conditionShape(loaded);
  return {
    promptCount: shape.promptCount, maxTokens: shape.maxTokens, window: manifest.encoder.window, maxInputTokens: manifest.encoder.max_input_tokens,
    gated: generator.loaded.gate !== null, gateFeature: generator.loaded.gate?.feature ?? null,
    examples: manifest.examples ? { validationRows: manifest.examples.validation_rows, grid: [...manifest.examples.grid] } : null,
    blocks, rank: manifest.lora.rank, targetModules: [...manifest.lora.target_modules],
  };
}

/**
 * The condition shape: the generator manifest's `encoder` (P, L, C, template) when a generator is
 * loaded, else trainer/configs/generator.json's P = 8, L = 32, "plain" and the model's hidden size.
 */
export function conditionShape(loaded: Loaded, template?: ConditionTemplate): ConditionShape {
  const hidden = loaded.model.info.config.hidden_size;
  const enc = loaded.generator?.loaded.manifest.encoder;
  if (!enc) return { promptCount: DEFAULT_PROMPT_COUNT, maxTokens: DEFAULT_MAX_TOKENS, channels: hidden };
  if (enc.layer !== -1 || enc.pooling !== 'none' || (enc.template !== 'plain' && enc.template !== 'chat') || enc.channels !== hidden) {
    throw new EncoderMissingError(
      `the generator expects an encoder with layer ${enc.layer}, pooling "${enc.pooling}", template "${enc.template}", ` +
      `${enc.channels} channels; the model's last_hidden_state gives layer -1, pooling "none", template "plain" or "chat", ${hidden} channels`);
  }
  return {
    promptCount: enc.prompt_count, maxTokens: enc.max_tokens, channels: enc.channels, template: template ?? enc.template,
    window: enc.window, maxInputTokens: enc.max_input_tokens,
  };
}

/**
 * The encoder's run: texts -> the (P, L, C) condition from the session's `last_hidden_state`
 * (src/model/encoder.ts), with the base model's zero LoRA inputs. The caller holds the session.
 */
export function encodeConditions(loaded: Loaded, prompts: string[], shape: ConditionShape): Promise<EncodedPrompts> {
  const { tokenizer } = loaded;
  const emptyId = tokenizer.raw.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
  const run = hiddenStatesRun(loaded.model, () => loaded.registry.feeds(null));
  return encodeWith(run, (text) => tokenizer.encode(text), emptyId, prompts, shape);
}

/** The warm-up's short encoder runs: how many, and ids per prompt. */
const WARM_UP_SHORT_RUNS = 6;
const WARM_UP_SHORT_TOKENS = 16;

/**
 * On WebAssembly, right after the load (not awaited by it), results dropped: one generator run, a
 * few short encoder runs (P prompts of 16 ids), then one of P prompts as long as the window
 * allows. The first runs of a fresh WebAssembly module are several times slower than later ones:
 * the browser compiles the hot kernels with its optimising compiler only once they have run a
 * while (measured: docs/runtime.md, "CPU generation"). Paid here, that cost falls in the time a
 * person takes to choose prompts. A call that needs the session meanwhile waits (`settled`), and
 * the warm-up stops at its next step, so it waits for one step at most.
 */
export class WarmUp {
  /** The warm-up after a WebAssembly load, while it runs. */
  private warming?: Promise<void>;
  /** Calls waiting for that warm-up: it stops at its next step when one does. */
  private waiting = 0;

  start(loaded: Loaded): void {
    const work = async () => {
      // each step ends with a macrotask hop, so a call's message is handled (and counted in
      // `waiting`) between steps: ORT's runs resolve in microtasks, which would starve it
      await loaded.generator?.cpu?.warmUp();
      await nextMacrotask();
      const shape = conditionShape(loaded);
      const { length } = idWindow(shape);
      const id = loaded.tokenizer.raw.convert_tokens_to_ids(EMPTY_PROMPT_TOKEN);
      const run = hiddenStatesRun(loaded.model, () => loaded.registry.feeds(null));
      const encode = async (n: number) => {
        await encodeIds(run, Array.from({ length: shape.promptCount }, () => new Array<number>(n).fill(id)), shape.maxTokens, shape.channels, length);
        await nextMacrotask();
      };
      // short runs first, each ended early by a call that waits; then one of the longest prompts
      for (let i = 0; i < WARM_UP_SHORT_RUNS && this.waiting === 0; i++) await encode(Math.min(WARM_UP_SHORT_TOKENS, length));
      if (this.waiting === 0) await encode(length);
    };
    // a failed warm-up only leaves that cost to the first real run, which reports its own errors
    const warming: Promise<void> = work().catch(() => undefined).finally(() => {
      if (this.warming === warming) this.warming = undefined;
    });
    this.warming = warming;
  }

  /** Waits for the warm-up after a load, if one is running (the session runs one thing at a time). */
  async settled(): Promise<void> {
    if (!this.warming) return;
    this.waiting += 1;
    try {
      await this.warming;
    } finally {
      this.waiting -= 1;
    }
  }

  /**
   * Resolves once the engine has no background work left (the warm-up after a WebAssembly load),
   * without cutting that work short as a waiting call does.
   */
  async idle(): Promise<void> {
    if (this.warming) await this.warming;
  }
}
