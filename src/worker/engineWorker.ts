/**
 * Worker surface of the model engine, kept thin: it forwards to {@link Engine} (src/engine/) and turns every
 * failure into plain data (comlink keeps only name and message of an Error), so the page gets the
 * typed code back. Callbacks arrive as `Comlink.proxy` functions.
 */
import * as Comlink from 'comlink';
import { RESOURCE_BUFFER_SIZE, resourceSizes, type ResourceSize } from '../model/downloadTally';
import { toFailure, type EngineFailure } from '../model/errors';
import { Engine } from '../engine/engine';
import type {
  AdapterComparison, AdapterDetails, AdapterMatrixViews, AdapterSource, AdapterSummary, AnsweredRow, AnswerFeatureResult, AnswerSettings,
  EncodedPrompts, EngineInfo, EngineInitOptions, GenerateAdapterOptions, GenerateAdapterStage, GeneratedAdapterSummary, GenerateOptions,
  GenerateResult, GeneratorInfo, InitProgress, Pooling, TokenEvent,
} from '../engine/types';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: EngineFailure };

async function wrap<T>(f: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return { ok: false, error: toFailure(e) };
  }
}

// every download of this worker (model files, onnxruntime's WebAssembly) stays measurable
performance.setResourceTimingBufferSize(RESOURCE_BUFFER_SIZE);

const engine = new Engine();

const api = {
  init: (options: EngineInitOptions, onProgress?: (p: InitProgress) => void): Promise<Outcome<EngineInfo>> => wrap(() => engine.init(options, onProgress)),
  info: (): Promise<Outcome<EngineInfo>> => wrap(() => engine.info()),
  idle: (): Promise<Outcome<void>> => wrap(() => engine.idle()),
  tokenize: (text: string): Promise<Outcome<number[]>> => wrap(() => engine.tokenize(text)),
  detokenize: (ids: number[], skipSpecial?: boolean): Promise<Outcome<string>> => wrap(() => engine.detokenize(ids, skipSpecial)),
  generate: (text: string, options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<Outcome<GenerateResult>> =>
    wrap(() => engine.generate(text, options, onToken)),
  generateIds: (ids: number[], options: GenerateOptions, onToken?: (t: TokenEvent) => void): Promise<Outcome<GenerateResult>> =>
    wrap(() => engine.generateIds(ids, options, onToken)),
  cancel: (): boolean => engine.cancel(),
  listAdapters: (): Promise<Outcome<AdapterSummary[]>> => wrap(() => engine.listAdapters()),
  importAdapter: (zip: Uint8Array, name: string, source?: AdapterSource): Promise<Outcome<AdapterSummary>> => wrap(() => engine.importAdapter(zip, name, source)),
  importAdapterFiles: (configJson: string, safetensors: Uint8Array, name: string): Promise<Outcome<AdapterSummary>> =>
    wrap(() => engine.importAdapterFiles(configJson, safetensors, name)),
  exportAdapter: async (id: string): Promise<Outcome<Uint8Array>> => {
    const out = await wrap(() => engine.exportAdapter(id));
    return out.ok ? Comlink.transfer(out, [out.value.buffer]) : out;
  },
  removeAdapter: (id: string): Promise<Outcome<void>> => wrap(() => engine.removeAdapter(id)),
  renameAdapter: (id: string, name: string): Promise<Outcome<AdapterSummary>> => wrap(() => engine.renameAdapter(id, name)),
  generatorInfo: (): Promise<Outcome<GeneratorInfo | null>> => wrap(() => engine.generatorInfo()),
  adapterDetails: (id: string): Promise<Outcome<AdapterDetails>> => wrap(() => engine.adapterDetails(id)),
  adapterMatrices: async (id: string, layer: number, module: string, pooling?: Pooling): Promise<Outcome<AdapterMatrixViews>> => {
    const out = await wrap(() => engine.adapterMatrices(id, layer, module, pooling));
    return out.ok ? Comlink.transfer(out, [out.value.a.data.buffer, out.value.b.data.buffer, out.value.delta.data.buffer]) : out;
  },
  compareAdapters: (firstId: string, secondId: string): Promise<Outcome<AdapterComparison>> => wrap(() => engine.compareAdapters(firstId, secondId)),
  encodePrompts: async (prompts: string[]): Promise<Outcome<EncodedPrompts>> => {
    const out = await wrap(() => engine.encodePrompts(prompts));
    return out.ok ? Comlink.transfer(out, [out.value.condition.buffer]) : out;
  },
  generateAdapter: (
    prompts: string[], name: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<Outcome<GeneratedAdapterSummary>> =>
    wrap(() => engine.generateAdapter(prompts, name, onStage, options)),
  generateAdapterFromCondition: (
    condition: Float32Array, name: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<Outcome<GeneratedAdapterSummary>> => wrap(() => engine.generateAdapterFromCondition(condition, name, onStage, options)),
  generateAdapterFromExamples: (
    condition: AnsweredRow[], validation: AnsweredRow[], name: string, onStage?: (s: GenerateAdapterStage) => void, options?: GenerateAdapterOptions,
  ): Promise<Outcome<GeneratedAdapterSummary>> => wrap(() => engine.generateAdapterFromExamples(condition, validation, name, onStage, options)),
  measureAnswerFeatures: (prompts: string[], adapter: string | null, settings?: AnswerSettings): Promise<Outcome<AnswerFeatureResult>> =>
    wrap(() => engine.measureAnswerFeatures(prompts, adapter, settings)),
  validationNll: (rows: AnsweredRow[], adapter: string, grid: number[]): Promise<Outcome<{ nll: number[]; tokens: number }>> =>
    wrap(() => engine.validationNll(rows, adapter, grid)),
  cancelAdapterGeneration: (): boolean => engine.cancelAdapterGeneration(),
  continueAdapterGeneration: (mode: 'next' | 'to-end'): boolean => engine.continueAdapterGeneration(mode),
  debugLoseDevice: (): boolean => engine.debugLoseDevice(),
  /** Test hook: an uncaught error outside any call, as a crash inside onnxruntime or a kernel would be. */
  debugCrash: (): boolean => {
    setTimeout(() => {
      throw new Error('test hook: the model worker was made to crash');
    });
    return true;
  },
  deviceLost: (): boolean => engine.deviceLost,
  /** This worker's responses as Resource Timing measured them (src/model/downloadTally.ts). */
  downloads: (): ResourceSize[] => resourceSizes(),
};

export type EngineWorkerApi = typeof api;

Comlink.expose(api);
