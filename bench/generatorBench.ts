/**
 * Benchmark page: the hand-written WGSL generator vs onnxruntime-web's WebGPU execution provider
 * running an ONNX export of the same generator, same weights, same input, same browser and GPU.
 * Both are timed end to end as an app would use them: condition from the host in, normalised
 * tokens back on the host, median of `runs` after `warmup` runs. The outputs are compared too,
 * so a fast wrong answer cannot win.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { acquireDevice } from '../src/gpu/device';
import { PipelineCache } from '../src/gpu/pipelineCache';
import { loadGenerator } from '../src/generator/loadGenerator';
import { GeneratorRuntime, type StageTiming } from '../src/generator/runtime';
import { median } from './stats';

export interface BenchRequest {
  baseUrl: string;
  runs: number;
  warmup: number;
}

export interface BenchResult {
  wgsl_ms: number;
  ort_webgpu_ms: number;
  wgsl_runs_ms: number[];
  ort_runs_ms: number[];
  wgsl_stage_ms: StageTiming[];
  max_abs_diff: number;
  max_abs_ref: number;
  parameters: number;
  features: number[][];
  kernel_sizes: number[];
  adapter: { vendor: string; architecture: string; device: string; description: string };
  shader_f16: boolean;
  user_agent: string;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function seededCondition(n: number): Float32Array {
  // xorshift32: the same input for both engines and every run.
  let s = 0x9e3779b9;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

async function runBench(req: BenchRequest): Promise<BenchResult> {
  const gpu = await acquireDevice(navigator.gpu);
  const { device } = gpu;
  const generator = loadGenerator({
    manifest: await (await fetch(`${req.baseUrl}/generator.json`)).text(),
    weights: await fetchBytes(`${req.baseUrl}/generator.safetensors`),
  });
  const runtime = GeneratorRuntime.create({ ...gpu, cache: new PipelineCache(device) }, generator, { batch: 1, timestamps: false });
  const shape = runtime.conditionShape;
  const condition = seededCondition(shape.batch * shape.n * shape.h * shape.w);
  const out = runtime.outputShape;
  const outCount = out.batch * out.n * out.h * out.w;
  const lastLayer = runtime.layerCount - 1;

  const wgslOnce = async (): Promise<{ ms: number; tokens: Float32Array }> => {
    const t0 = performance.now();
    runtime.writeCondition(condition);
    await runtime.run();
    const tokens = await runtime.readLayer(lastLayer);
    return { ms: performance.now() - t0, tokens };
  };

  ort.env.webgpu.device = device;
  const session = await ort.InferenceSession.create(await fetchBytes(`${req.baseUrl}/generator.onnx`), {
    executionProviders: [{ name: 'webgpu', device }],
    graphOptimizationLevel: 'all',
  });
  const ortOnce = async (): Promise<{ ms: number; tokens: Float32Array }> => {
    const t0 = performance.now();
    const input = new ort.Tensor('float32', condition, [shape.batch, shape.n, shape.h, shape.w]);
    const result = await session.run({ condition: input });
    const tokens = (await (result.tokens as ort.Tensor).getData()) as Float32Array;
    return { ms: performance.now() - t0, tokens };
  };

  for (let i = 0; i < req.warmup; i++) {
    await wgslOnce();
    await ortOnce();
  }
  // Interleave the two so drifting clocks or thermal state affect both alike.
  const wgslRuns: number[] = [];
  const ortRuns: number[] = [];
  let wgslTokens: Float32Array = new Float32Array(0);
  let ortTokens: Float32Array = new Float32Array(0);
  for (let i = 0; i < req.runs; i++) {
    const w = await wgslOnce();
    wgslRuns.push(w.ms);
    wgslTokens = w.tokens;
    const o = await ortOnce();
    ortRuns.push(o.ms);
    ortTokens = o.tokens;
  }
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < outCount; i++) {
    maxDiff = Math.max(maxDiff, Math.abs((wgslTokens[i] as number) - (ortTokens[i] as number)));
    maxRef = Math.max(maxRef, Math.abs(ortTokens[i] as number));
  }
  // Per-stage GPU time from timestamp queries, when the adapter has them.
  const timed = GeneratorRuntime.create({ ...gpu, cache: new PipelineCache(device) }, generator, { batch: 1, timestamps: true });
  timed.writeCondition(condition);
  await timed.run();
  const stages = await timed.run();
  timed.destroy();
  runtime.destroy();
  await session.release();

  const info = gpu.adapter.info;
  const { decoder } = generator.manifest;
  let parameters = 0;
  for (const name of generator.weights.names()) {
    if (name.startsWith('decoder.')) parameters += generator.weights.info(name).shape.reduce((a, b) => a * b, 1);
  }
  return {
    wgsl_ms: median(wgslRuns),
    ort_webgpu_ms: median(ortRuns),
    wgsl_runs_ms: wgslRuns,
    ort_runs_ms: ortRuns,
    wgsl_stage_ms: stages,
    max_abs_diff: maxDiff,
    max_abs_ref: maxRef,
    parameters,
    features: decoder.features.map((f) => [...f]),
    kernel_sizes: [...decoder.kernel_sizes],
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    shader_f16: gpu.shaderF16,
    user_agent: navigator.userAgent,
  };
}

declare global {
  interface Window {
    runGeneratorBench?: (req: BenchRequest) => Promise<BenchResult>;
  }
}
window.runGeneratorBench = runBench;
