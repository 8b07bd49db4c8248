/**
 * The WGSL generator through Dawn in Node (the `webgpu` package) on whatever Vulkan driver the
 * machine has — on the GPU machine, the NVIDIA driver (DESIGN §7: the same WGSL on a real GPU, next
 * to the PyTorch reference on that GPU). Bundled by scripts/build-dawn-bench.sh so it can run where
 * only `node` and dawn.node are present.
 *
 *   node build/dawn-bench/dawnNodeBench.js <generator dir> [runs] [warmup] [parity fixture dir]
 *
 * Prints one JSON object: per precision (f32, and f16 where the adapter has `shader-f16`), the
 * median wall time per generation (condition written from the host, GPU done; tokens stay on the
 * GPU as in the app) and per-stage GPU times from timestamp queries; with a fixture directory
 * (test/fixtures/hyperconv), also each layer's error against the PyTorch reference.
 */
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { acquireDevice } from '../src/gpu/device';
import { PipelineCache } from '../src/gpu/pipelineCache';
import { loadGenerator } from '../src/generator/loadGenerator';
import { GeneratorRuntime, type StageTiming } from '../src/generator/runtime';
import { parseSafetensors } from '../src/generator/safetensors';
import type { Precision } from '../src/gpu/buffers';
import type { LoadedGenerator } from '../src/generator/loadGenerator';
import type { GpuContext } from '../src/gpu/device';
import { fixtureRelativeError as relativeError, median } from './stats';

// Dawn tears its instance down when the GPU object is garbage-collected: hold it at module scope.
let gpuInstance: GPU | undefined;
const log = (msg: string) => process.stderr.write(`[dawn-bench] ${msg}\n`);

function loadDir(dir: string): LoadedGenerator {
  return loadGenerator({
    manifest: readFileSync(`${dir}/generator.json`, 'utf8'),
    weights: readFileSync(`${dir}/generator.safetensors`),
  });
}

async function parity(ctx: GpuContext, cache: PipelineCache, fixture: string, precision: Precision): Promise<number[]> {
  const io = parseSafetensors(readFileSync(`${fixture}/io.safetensors`), 'io.safetensors');
  const runtime = GeneratorRuntime.create({ ...ctx, cache }, loadDir(fixture), {
    batch: io.info('input').shape[0] as number,
    precision,
    timestamps: false,
  });
  runtime.writeCondition(io.float32('input'));
  await runtime.run();
  const errors: number[] = [];
  for (let i = 0; i < runtime.layerCount; i++) errors.push(relativeError(await runtime.readLayer(i), io.float32(`layer.${i}`)));
  runtime.destroy();
  return errors;
}

async function timeGenerator(ctx: GpuContext, cache: PipelineCache, generator: LoadedGenerator, precision: Precision, runs: number, warmup: number) {
  const runtime = GeneratorRuntime.create({ ...ctx, cache }, generator, { batch: 1, timestamps: false, precision });
  const s = runtime.conditionShape;
  const condition = new Float32Array(s.batch * s.n * s.h * s.w).map((_, i) => Math.sin(i * 0.37));
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    runtime.writeCondition(condition);
    await runtime.run();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  runtime.destroy();
  const timed = GeneratorRuntime.create({ ...ctx, cache }, generator, { batch: 1, timestamps: true, precision });
  timed.writeCondition(condition);
  await timed.run();
  const stages: StageTiming[] = await timed.run();
  timed.destroy();
  log(`${precision}: median ${median(times).toFixed(3)} ms over ${runs} runs`);
  return { median_ms: median(times), min_ms: Math.min(...times), runs_ms: times, stage_ms: stages };
}

async function main(): Promise<void> {
  const [dir, runsArg, warmupArg, fixture] = process.argv.slice(2);
  if (!dir) throw new Error('usage: dawnNodeBench.js <generator dir> [runs] [warmup] [fixture dir]');
  const runs = Number(runsArg ?? 50);
  const warmup = Number(warmupArg ?? 5);
  Object.assign(globalThis, globals);
  gpuInstance = create([]) as unknown as GPU;
  const ctx = await acquireDevice(gpuInstance, { powerPreference: 'high-performance' });
  const info = ctx.adapter.info;
  log(`adapter: ${info.vendor} ${info.architecture} ${info.description}; shader-f16 ${ctx.shaderF16}`);
  const cache = new PipelineCache(ctx.device);
  const precisions: Precision[] = ctx.shaderF16 ? ['f32', 'f16'] : ['f32'];
  const generator = loadDir(dir);
  const result: Record<string, unknown> = {
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    shader_f16: ctx.shaderF16,
    timestamp_query: ctx.timestampQuery,
    node: process.version,
    runs,
    warmup,
  };
  for (const precision of precisions) {
    const entry: Record<string, unknown> = {};
    if (fixture) entry.parity_relative_error_per_layer = await parity(ctx, cache, fixture, precision);
    Object.assign(entry, await timeGenerator(ctx, cache, generator, precision, runs, warmup));
    result[precision] = entry;
  }
  console.log(JSON.stringify(result));
  ctx.device.destroy();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  },
);
