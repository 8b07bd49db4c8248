/**
 * Prompts -> adapter on the engine test page, for e2e/generatorCpu.e2e.ts and scripts/bench-adapter.ts:
 * engines of their own (one worker each, so the WebAssembly generator and the TypeScript reference
 * run side by side on the same page) with the release generator (models/generator), one
 * `generateAdapter` call timed from this page (what a person waits for after pressing Generate:
 * worker messages included) with the engine's own stage times, and the adapter's PEFT zip.
 */
import { EngineClient, type EngineInfo } from '../../src/worker/engineClient';

const engines = new Map<string, EngineClient>();

export interface GeneratorEngineOptions {
  backend: 'auto' | 'webgpu' | 'wasm';
  /** Without WebGPU: the WebAssembly generator (default) or the TypeScript reference. */
  cpuGenerator?: 'wasm' | 'reference';
  /** 0: the engine's default. */
  wasmThreads?: number;
}

export type GeneratorEngineInfo = Pick<EngineInfo,
  'backend' | 'device' | 'notice' | 'generator' | 'generatorBackend' | 'wasmThreads' | 'crossOriginIsolated' | 'initMs' | 'stagesMs'>;

export async function initGeneratorEngine(name: string, options: GeneratorEngineOptions): Promise<GeneratorEngineInfo> {
  engines.get(name)?.dispose();
  const client = new EngineClient();
  engines.set(name, client);
  const info = await client.init({
    modelsUrl: new URL('/models/', location.href).href,
    backend: options.backend,
    cache: false,
    generator: { manifestUrl: '/models/generator/generator.json', weightsUrl: '/models/generator/generator.safetensors' },
    ...(options.cpuGenerator ? { cpuGenerator: options.cpuGenerator } : {}),
    ...(options.wasmThreads ? { wasmThreads: options.wasmThreads } : {}),
  });
  const { backend, device, notice, generator, generatorBackend, wasmThreads, crossOriginIsolated, initMs, stagesMs } = info;
  return { backend, device, notice, generator, generatorBackend, wasmThreads, crossOriginIsolated, initMs, stagesMs };
}

function engine(name: string): EngineClient {
  const client = engines.get(name);
  if (!client) throw new Error(`no engine ${name}`);
  return client;
}

export interface AdapterRun {
  id: string;
  gate: { value: number; neighbours: string[] } | null;
  /** From the call to its result, on this page. */
  wallMs: number;
  /** The engine's stages in order ('encode', 'layer i', 'detokenize', 'apply') and their times. */
  stages: { stage: string; ms: number }[];
}

export async function generateFromPrompts(name: string, prompts: string[], label: string): Promise<AdapterRun> {
  const client = engine(name);
  const stages: { stage: string; ms: number }[] = [];
  const t0 = performance.now();
  const summary = await client.generateAdapter(prompts, label, (s) => {
    stages.push({ stage: s.stage, ms: s.ms });
  });
  const wallMs = performance.now() - t0;
  return { id: summary.id, gate: summary.gate ? { value: summary.gate.value, neighbours: [...summary.gate.neighbours] } : null, wallMs, stages };
}

/** The ids each prompt has (the tokenizer the engine encodes with, no special tokens). */
export async function tokenCounts(name: string, prompts: string[]): Promise<number[]> {
  const client = engine(name);
  return Promise.all(prompts.map(async (p) => (await client.tokenize(p)).length));
}

/** The adapter's PEFT zip, base64 (page.evaluate returns plain data). */
export async function adapterZipBase64(name: string, id: string): Promise<string> {
  const zip = await engine(name).exportAdapter(id);
  let text = '';
  for (let i = 0; i < zip.length; i += 0x8000) text += String.fromCharCode(...zip.subarray(i, i + 0x8000));
  return btoa(text);
}

export async function removeAdapter(name: string, id: string): Promise<void> {
  await engine(name).removeAdapter(id);
}

export function disposeEngine(name: string): void {
  engines.get(name)?.dispose();
  engines.delete(name);
}

/** Waits for the engine's background work after its load (the warm-up); returns how long that took. */
export async function idle(name: string): Promise<number> {
  const t0 = performance.now();
  await engine(name).idle();
  return performance.now() - t0;
}
