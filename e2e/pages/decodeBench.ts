/**
 * The decode benchmark's page side (scripts/bench-decode.ts), on the engine test page: our engine
 * (one worker per graph: decoder_lora.onnx with the fixture LoRA or none, decoder.onnx without LoRA
 * inputs) and transformers.js `generate` on the same model, measured the same way from this page:
 *
 * - decode steps/s: (tokens - 1) / (time of the last token - time of the first), the first token
 *   being the prefill's; what a person watching the stream sees (our worker's messages included;
 *   transformers.js runs on this page and reports through a streamer);
 * - wall tokens/s: tokens / (call start -> result), prefill included;
 * - time to the first token.
 */
import * as tjs from '@huggingface/transformers';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import modelManifest from 'virtual:dnd-model-manifest';
import { EngineClient } from '../../src/worker/engineClient';

export interface BenchRun {
  variant: string;
  tokens: number;
  /** Decode steps per second after the first token. */
  decodeTokS: number;
  /** All tokens over the whole call, prefill included. */
  wallTokS: number;
  firstTokenMs: number;
  /** Our engine's own step timing (session runs only), for comparison; NaN for transformers.js. */
  engineTokS: number;
}

function timing(variant: string, start: number, stamps: number[], end: number, engineTokS = Number.NaN): BenchRun {
  const n = stamps.length;
  const first = stamps[0] ?? end;
  const last = stamps[n - 1] ?? end;
  return {
    variant, tokens: n, decodeTokS: n > 1 ? (n - 1) / ((last - first) / 1000) : 0, wallTokS: n / ((end - start) / 1000),
    firstTokenMs: first - start, engineTokS,
  };
}

const engines = new Map<string, EngineClient>();

/** An engine worker of its own for `name` (its own ORT, WASM threads, session). */
export async function initEngine(name: string, backend: 'webgpu' | 'wasm', graph: 'lora' | 'base', wasmThreads: number): Promise<{ backend: string; device: string; graph: string; wasmThreads: number | null; crossOriginIsolated: boolean }> {
  engines.get(name)?.dispose();
  const client = new EngineClient();
  engines.set(name, client);
  const info = await client.init({ modelsUrl: new URL('/models/', location.href).href, backend, graph, manifest: modelManifest, wasmThreads, cache: false });
  return { backend: info.backend, device: info.device, graph: info.graph, wasmThreads: info.wasmThreads, crossOriginIsolated: info.crossOriginIsolated };
}

export async function importAdapter(name: string, dir: string, label: string): Promise<string> {
  const get = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  const config = new TextDecoder().decode(await get(`${dir}/adapter_config.json`));
  return (await engines.get(name)!.importAdapterFiles(config, await get(`${dir}/adapter_model.safetensors`), label)).id;
}

export async function benchEngine(name: string, ids: number[], tokens: number, adapter: string | null, variant: string): Promise<BenchRun> {
  const client = engines.get(name);
  if (!client) throw new Error(`no engine ${name}`);
  const stamps: number[] = [];
  const start = performance.now();
  const r = await client.generateIds(ids, { adapter, maxTokens: tokens, stopIds: [] }, () => stamps.push(performance.now()));
  return timing(variant, start, stamps, performance.now(), r.tokensPerSecond);
}

interface PeerModel {
  generate(args: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<unknown>;
}
const peers = new Map<string, PeerModel>();

/**
 * transformers.js 4 on this page: `hf` = the standard export in its own naming (tjs-peer/hf/onnx/
 * model.onnx, trainer/export/onnx_model.py); `web` = our decoder.onnx (tjs-peer/web/onnx/model.onnx) over
 * model.safetensors through its `externalData` session option. Same WASM build as ours; `wasmThreads`
 * 0 leaves onnxruntime-web's own default (half the cores, at most 4), which transformers.js keeps.
 * Returns the thread count it runs with.
 */
export async function initPeer(peer: 'hf' | 'web', device: 'webgpu' | 'wasm', wasmThreads: number): Promise<number> {
  await peers.get(peer)?.dispose();
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = '/tjs-peer/';
  tjs.env.useBrowserCache = false;
  const onnx = tjs.env.backends.onnx as { wasm?: { wasmPaths?: unknown; numThreads?: number } };
  if (onnx.wasm) {
    onnx.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, location.href).href, mjs: new URL(ortMjsUrl, location.href).href };
    if (wasmThreads > 0) onnx.wasm.numThreads = wasmThreads;
  }
  const options: Record<string, unknown> = { dtype: 'fp32', device };
  if (peer === 'web') options.session_options = { externalData: [{ path: 'model.safetensors', data: 'model.safetensors' }] };
  const model = (await tjs.AutoModelForCausalLM.from_pretrained(peer, options)) as unknown as PeerModel;
  peers.set(peer, model);
  return onnx.wasm?.numThreads ?? 0;
}

export async function benchPeer(peer: 'hf' | 'web', ids: number[], tokens: number): Promise<BenchRun> {
  const model = peers.get(peer);
  if (!model) throw new Error(`no transformers.js model ${peer}`);
  const stamps: number[] = [];
  let calls = 0;
  // generate() calls put() with the prompt first, then once per new token
  const streamer = { put: () => { if (calls++ > 0) stamps.push(performance.now()); }, end: () => undefined };
  const input = new tjs.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]);
  const mask = new tjs.Tensor('int64', BigInt64Array.from(ids, () => 1n), [1, ids.length]);
  const start = performance.now();
  await model.generate({ input_ids: input, attention_mask: mask, max_new_tokens: tokens, min_new_tokens: tokens, do_sample: false, streamer });
  return timing(`transformers.js (${peer})`, start, stamps, performance.now());
}
