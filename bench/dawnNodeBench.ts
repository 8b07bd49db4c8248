/**
 * The WGSL generator through Dawn in Node (the `webgpu` package) on whatever Vulkan driver the
 * machine has — on the GPU machine, the NVIDIA driver (DESIGN §7: the same WGSL on a real GPU, next
 * to the PyTorch reference on that GPU). Bundled by scripts/build-dawn-bench.sh so it can run where
 * only `node` and dawn.node are present.
 *
 *   node build/dawn-bench/dawnNodeBench.js <generator dir> [runs] [warmup]
 *
 * Prints one JSON object: median wall time per generation (condition written from the host, GPU
 * done; tokens stay on the GPU as in the app) and per-stage GPU times from timestamp queries.
 */
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { acquireDevice } from '../src/gpu/device';
import { PipelineCache } from '../src/gpu/pipelineCache';
import { loadGenerator } from '../src/generator/loadGenerator';
import { GeneratorRuntime, type StageTiming } from '../src/generator/runtime';

// Dawn tears its instance down when the GPU object is garbage-collected: hold it at module scope.
let gpuInstance: GPU | undefined;
const log = (msg: string) => process.stderr.write(`[dawn-bench] ${msg}\n`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const [dir, runsArg, warmupArg] = process.argv.slice(2);
  if (!dir) throw new Error('usage: dawnNodeBench.js <generator dir> [runs] [warmup]');
  const runs = Number(runsArg ?? 50);
  const warmup = Number(warmupArg ?? 5);
  Object.assign(globalThis, globals);
  gpuInstance = create([]) as unknown as GPU;
  const ctx = await acquireDevice(gpuInstance, { powerPreference: 'high-performance' });
  log(`adapter: ${ctx.adapter.info.vendor} ${ctx.adapter.info.architecture} ${ctx.adapter.info.description}`);
  const generator = loadGenerator({
    manifest: readFileSync(`${dir}/generator.json`, 'utf8'),
    weights: readFileSync(`${dir}/generator.safetensors`),
  });
  const cache = new PipelineCache(ctx.device);
  const runtime = GeneratorRuntime.create({ ...ctx, cache }, generator, { batch: 1, timestamps: false });
  const s = runtime.conditionShape;
  const condition = new Float32Array(s.batch * s.n * s.h * s.w).map((_, i) => Math.sin(i * 0.37));
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    runtime.writeCondition(condition);
    await runtime.run();
    if (i >= warmup) times.push(performance.now() - t0);
    log(`run ${i}: ${(performance.now() - t0).toFixed(2)} ms`);
  }
  const timed = GeneratorRuntime.create({ ...ctx, cache }, generator, { batch: 1, timestamps: true });
  timed.writeCondition(condition);
  await timed.run();
  const stages: StageTiming[] = await timed.run();
  const info = ctx.adapter.info;
  console.log(
    JSON.stringify({
      wgsl_dawn_median_ms: median(times),
      wgsl_dawn_min_ms: Math.min(...times),
      runs_ms: times,
      stage_ms: stages,
      adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
      timestamp_query: ctx.timestampQuery,
      node: process.version,
      runs,
      warmup,
    }),
  );
  runtime.destroy();
  timed.destroy();
  ctx.device.destroy();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  },
);
