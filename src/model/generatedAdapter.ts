/**
 * From the WGSL generator to an adapter: the generator runtime leaves the LoRA packed in one GPU
 * buffer (`loraBuffer(b)`, matrices at `loraMatrices()` offsets); its matrices are read back once
 * (the registry keeps a CPU copy of every adapter, for export, inspection and IndexedDB) and the
 * registry packs them into the graph's grouped inputs (src/model/adapters.ts) and uploads those.
 * The web graphs' inputs are grouped, block-diagonal and scaled, which a buffer-to-buffer copy
 * cannot make; docs/decisions.md says why the read-back is the path (a few ms, measured in the
 * 'apply' stage).
 *
 * Without WebGPU the same generator runs on the CPU: its layers as ONNX graphs made from the manifest on
 * onnxruntime-web's WebAssembly backend (src/generator/onnx/, `attachCpuRuntime`), or, where those do
 * not start (or when asked for, as the benchmark does), the TypeScript reference
 * (src/generator/referenceRuntime.ts). Both give the same adapter within float32 rounding.
 *
 * The gate (version 2, src/generator/gate.ts) scales the delta B·A by g, computed here once the
 * decoder has run (its feature is the condition or the decoder's raw output). The adapter's data is
 * the applied adapter: every B times g, scale alpha / r, a plain PEFT LoRA that PEFT in Python applies
 * the same way; the registry packs that copy into the model's inputs, so one copy serves the model,
 * the inspector, the PEFT export and the saved copy.
 */
import { GeneratorRuntime, downsample, type Heatmap, type StageTiming } from '../generator/runtime';
import { loadGenerator, type LoadedGenerator } from '../generator/loadGenerator';
import { runReferenceGenerator } from '../generator/referenceRuntime';
import { OnnxGeneratorRuntime, type GraphSessionFactory } from '../generator/onnx/runtime';
import { gateForRun, type GateResult } from '../generator/gate';
import { type AdapterData, type LoraMatrixData, type LoraShape, peftName } from './adapters';
import { AdapterValidationError, EngineError, describeError } from './errors';

export interface GeneratorHandle {
  loaded: LoadedGenerator;
  /** The WGSL runtime; absent without WebGPU, where the generator runs on the CPU. */
  runtime?: GeneratorRuntime;
  /** Without WebGPU: the WebAssembly runtime (`attachCpuRuntime`); absent: the TypeScript reference runs. */
  cpu?: OnnxGeneratorRuntime;
}

export class GeneratorLoadError extends EngineError {
  constructor(detail: string, cause?: unknown) {
    super('generator-invalid', `The parameter generator cannot be used: ${detail}.`, { cause });
    this.name = 'GeneratorLoadError';
  }
}

/**
 * Loads a generator for the loaded base (refusing one made for another base) onto `device`, or
 * for the CPU reference when there is no device.
 */
export function createGenerator(device: GPUDevice | undefined, manifest: string, weights: Uint8Array, shape: LoraShape): GeneratorHandle {
  let loaded: LoadedGenerator;
  try {
    loaded = loadGenerator({ manifest, weights }, { weightsSha256: shape.baseSha256 });
  } catch (e) {
    throw new GeneratorLoadError(describeError(e), e);
  }
  const lora = loaded.manifest.lora;
  if (lora.rank !== shape.rank) throw new GeneratorLoadError(`it makes rank-${lora.rank} LoRAs; the base model's graph takes rank ${shape.rank}`);
  if (lora.num_layers !== shape.layers) throw new GeneratorLoadError(`it makes LoRAs for ${lora.num_layers} layers; the base model has ${shape.layers}`);
  for (const m of lora.target_modules) {
    const d = shape.dims[m];
    const spec = lora.modules[m];
    if (!d || !spec || spec.in !== d.in || spec.out !== d.out) {
      throw new GeneratorLoadError(`its module ${m} (${spec?.in ?? '?'} -> ${spec?.out ?? '?'}) does not match the base model's LoRA inputs`);
    }
  }
  if (!device) return { loaded };
  const runtime = GeneratorRuntime.create({ device }, loaded, { batch: 1 });
  return { loaded, runtime };
}

/**
 * Starts the WebAssembly runtime of a generator loaded without WebGPU: one ONNX session per decoder
 * layer (src/generator/onnx/). `handle.cpu.warmUp()` runs it once on a zero condition.
 */
export async function attachCpuRuntime(handle: GeneratorHandle, factory: GraphSessionFactory): Promise<void> {
  if (handle.runtime) throw new GeneratorLoadError('it already runs on WebGPU');
  handle.cpu = await OnnxGeneratorRuntime.create(handle.loaded, factory, 1);
}

/** Cells per side of the layer heatmaps streamed to the page. */
export const SNAPSHOT_SIDE = 48;

/** B·g in place on the read-back copy (A is unchanged): the applied adapter's matrices. */
export function applyGate(matrices: Map<string, LoraMatrixData>, strength: number): void {
  if (strength === 1) return;
  for (const [key, m] of matrices) {
    if (!key.includes('.lora_B.')) continue;
    for (let i = 0; i < m.data.length; i++) m.data[i] = (m.data[i] as number) * strength;
  }
}

/** A generated adapter before it is sized: the decoder's LoRA at scale 1 and, for an "output" gate, the decoder's raw output. */
export interface RawGeneratedAdapter {
  /** Matrices as generated (not yet multiplied by any gate). */
  data: AdapterData;
  /** The decoder's last activation (N x h·w values, before un-normalisation), read on demand. */
  decoderOutput: () => Promise<Float32Array>;
  /** Wall time after the last stage spent reading the LoRA back (GPU path; 0 on the CPU). */
  readMs: number;
}

export interface GeneratedAdapter {
  data: AdapterData;
  /** Wall time after the last stage: the gate and reading the LoRA back. */
  readMs: number;
  /** The gate's strength (B·g in `data`); null: no gate, applied in full. */
  gate: GateResult | null;
}

/** A generated adapter's CPU data and the gate it was applied with (the no-WebGPU path). */
export interface GeneratedAdapterData {
  data: AdapterData;
  gate: GateResult | null;
}

type StageCallback = (timing: StageTiming, layer: number | null, snapshot?: Heatmap) => void | Promise<void>;

function adapterData(loaded: LoadedGenerator, shape: LoraShape, name: string, matrices: Map<string, LoraMatrixData>): AdapterData {
  const { rank, alpha, target_modules: targets } = loaded.manifest.lora;
  return { name, source: 'generated', rank, alpha, scale: alpha / rank, targetModules: shape.targets.filter((t) => targets.includes(t)), matrices };
}

/** Runs the WGSL generator on a condition (B = 1) and reads its LoRA back, unsized. */
export async function generateOnGpu(
  handle: GeneratorHandle, condition: Float32Array, shape: LoraShape, name: string, onStage?: StageCallback, signal?: AbortSignal,
): Promise<RawGeneratedAdapter> {
  const { runtime, loaded } = handle;
  if (!runtime) throw new GeneratorLoadError('it was loaded without WebGPU; use runGeneratorOnCpu');
  runtime.writeCondition(condition);
  // Each layer's output is read back down-sampled (small) so the page can draw it as it appears.
  await runtime.runStaged(async (t, l) => onStage?.(t, l, l === null ? undefined : await runtime.snapshot(l, SNAPSHOT_SIDE)), signal);
  const readStart = performance.now();
  const last = loaded.manifest.decoder.kernel_sizes.length - 1;
  // read now: a later generation reuses the runtime's buffers
  let output: Promise<Float32Array> | undefined;
  const decoderOutput = () => (output ??= runtime.readLayer(last));
  if (loaded.gate?.feature === 'output') await decoderOutput();
  const where = new Map(runtime.loraMatrices().map((m) => [m.name, m]));
  const read = await runtime.readLora(0);
  const matrices = new Map<string, LoraMatrixData>();
  for (const [key, data] of read) {
    const m = where.get(key);
    if (!m) throw new AdapterValidationError(`the generator produced an unknown matrix "${key}"`, key);
    matrices.set(key, { rows: m.rows, cols: m.cols, data });
  }
  return { data: adapterData(loaded, shape, name, matrices), decoderOutput, readMs: performance.now() - readStart };
}

/**
 * The no-WebGPU path: the WebAssembly runtime (or, without one, the TypeScript reference cascade),
 * then the adapter's matrices as CPU data, unsized.
 */
export async function generateOnCpu(
  handle: GeneratorHandle, condition: Float32Array, shape: LoraShape, name: string, onStage?: StageCallback, signal?: AbortSignal,
): Promise<RawGeneratedAdapter> {
  const { loaded } = handle;
  const features = loaded.manifest.decoder.features;
  let lastLayerDone = performance.now();
  const onLayer = async (layer: number, ms: number, values: Float32Array) => {
    const [n, h, w] = features[layer + 1] as readonly [number, number, number];
    const snapshot = downsample(values.subarray(0, n * h * w), n, h * w, SNAPSHOT_SIDE, `layer ${layer}: ${n} (N) x ${h}·${w} (H·W)`);
    await onStage?.({ stage: `layer ${layer}`, ms, clock: 'wall' }, layer, snapshot);
    lastLayerDone = performance.now();
  };
  const run = handle.cpu
    ? await handle.cpu.run(condition, onLayer, signal)
    : await runReferenceGenerator(loaded, condition, 1, onLayer, signal);
  // Both runtimes detokenise right after the last layer, inside their run.
  await onStage?.({ stage: 'detokenize', ms: performance.now() - lastLayerDone, clock: 'wall' }, null);
  const shapes = new Map(loaded.layout.entries.map((e) => [peftName(e.layer, e.module, e.matrix), e]));
  const matrices = new Map<string, LoraMatrixData>();
  for (const [key, data] of run.lora[0] as Map<string, Float32Array>) {
    const e = shapes.get(key);
    if (!e) throw new AdapterValidationError(`the generator produced an unknown matrix "${key}"`, key);
    matrices.set(key, { rows: e.rows, cols: e.cols, data });
  }
  const output = run.layers[run.layers.length - 1] as Float32Array;
  return { data: adapterData(loaded, shape, name, matrices), decoderOutput: async () => output, readMs: 0 };
}

/**
 * The gate a table computes from the generation alone ("condition" and "output" features); an "answer"
 * gate needs the base model (src/model/adapterSizing.ts) and is refused here.
 */
async function promptGate(handle: GeneratorHandle, condition: Float32Array, raw: RawGeneratedAdapter): Promise<GateResult | null> {
  const { loaded } = handle;
  return loaded.gate ? gateForRun(loaded.gate, loaded.manifest, { condition, decoderOutput: raw.decoderOutput }) : null;
}

/** Runs the generator on a condition (B = 1) and returns the adapter's matrices (read back), at the
 * gate's strength g (1 without a gate; "condition" and "output" gates). */
export async function runGenerator(
  handle: GeneratorHandle, condition: Float32Array, shape: LoraShape, name: string, onStage?: StageCallback, signal?: AbortSignal,
): Promise<GeneratedAdapter> {
  const raw = await generateOnGpu(handle, condition, shape, name, onStage, signal);
  const t0 = performance.now();
  const gate = await promptGate(handle, condition, raw);
  applyGate(raw.data.matrices, gate?.value ?? 1);
  return { data: raw.data, readMs: raw.readMs + performance.now() - t0, gate };
}

/** The no-WebGPU path: the CPU reference cascade, then the adapter's matrices (B·g) as CPU data. */
export async function runGeneratorOnCpu(
  handle: GeneratorHandle, condition: Float32Array, shape: LoraShape, name: string, onStage?: StageCallback, signal?: AbortSignal,
): Promise<GeneratedAdapterData> {
  const raw = await generateOnCpu(handle, condition, shape, name, onStage, signal);
  const gate = await promptGate(handle, condition, raw);
  applyGate(raw.data.matrices, gate?.value ?? 1);
  return { data: raw.data, gate };
}
