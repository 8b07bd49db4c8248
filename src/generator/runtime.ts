/**
 * The hyper-convolution cascade on the GPU (DESIGN §3, docs/hyperconv.md), driven entirely by the
 * manifest's feature schedule. Buffers and pipelines are created once in `create`; a run records
 * every layer (layer norm -> four axis convs -> combine -> length conv with the residual fused) and the
 * detokenisation into command encoders, so the condition can already live on the GPU and the
 * LoRA matrices stay there for the base model.
 */
import {
  createTensorBuffer,
  prepareAxisConv,
  prepareCombine,
  prepareDetokenize,
  prepareLayerNorm,
  readTensor,
  recordDispatch,
  writeTensor,
  bytesPerElement,
  tensorByteSize,
  ShaderF16SupportError,
  type Precision,
  packLayout,
  uploadTensor,
  PipelineCache,
  type ActivationShape,
  type KernelContext,
  type PreparedDispatch,
  type TokenLayoutEntry,
} from '../gpu';
import type { Feature } from './manifest';
import type { LoadedGenerator } from './loadGenerator';
import { matrixKey } from './loraLayout';
import { GeneratorRunError } from './errors';

export interface GeneratorRuntimeOptions {
  /** Conditions generated together (default 1). */
  batch?: number;
  /** Use this buffer as the condition (B, N0, H0, W0) f32 instead of allocating one. */
  condition?: GPUBuffer;
  /** Record GPU timestamps per stage when the device has `timestamp-query` (default true). */
  timestamps?: boolean;
  /**
   * 'f16' keeps weights, activations and the generated LoRA in half precision (needs the
   * device's `shader-f16`); default 'f32', which every adapter runs.
   */
  precision?: Precision;
}

export interface StageTiming {
  stage: string;
  ms: number;
  /** 'gpu' from timestamp queries; 'wall' from submit -> onSubmittedWorkDone. */
  clock: 'gpu' | 'wall';
}

export interface Heatmap {
  rows: number;
  cols: number;
  /** rows * cols mean-pooled values, row-major. */
  data: Float32Array;
  min: number;
  max: number;
  /** What the rows and columns are, for a caption. */
  describe: string;
}

interface LayerPlan {
  index: number;
  input: ActivationShape;
  output: ActivationShape;
  residual: boolean;
  dispatches: PreparedDispatch[];
  outputBuffer: GPUBuffer;
}

function shapeOf(batch: number, f: Feature): ActivationShape {
  return { batch, n: f[0], h: f[1], w: f[2] };
}

function count(s: ActivationShape): number {
  return s.batch * s.n * s.h * s.w;
}

function sameFeature(a: Feature, b: Feature): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

export class GeneratorRuntime {
  private readonly owned: GPUBuffer[] = [];
  private readonly layers: LayerPlan[] = [];
  private detokenizeDispatches: PreparedDispatch[] = [];
  private tokenScratch: GPUBuffer | null = null;
  private loraBuffers: GPUBuffer[] = [];
  private packed: TokenLayoutEntry[] = [];
  private packedElements = 0;
  private querySet: GPUQuerySet | null = null;
  private queryResolve: GPUBuffer | null = null;
  private destroyed = false;

  readonly batch: number;
  readonly precision: Precision;
  readonly condition: GPUBuffer;
  readonly conditionShape: ActivationShape;
  readonly outputShape: ActivationShape;

  private constructor(
    private readonly ctx: KernelContext & { timestampQuery?: boolean },
    readonly generator: LoadedGenerator,
    options: GeneratorRuntimeOptions,
  ) {
    const { features } = generator.manifest.decoder;
    this.batch = options.batch ?? 1;
    this.precision = options.precision ?? 'f32';
    if (this.precision === 'f16' && !ctx.device.features.has('shader-f16')) throw new ShaderF16SupportError('generator');
    if (!Number.isInteger(this.batch) || this.batch < 1) {
      throw new GeneratorRunError(`batch must be a positive integer, got ${this.batch}`);
    }
    this.conditionShape = shapeOf(this.batch, features[0] as Feature);
    this.outputShape = shapeOf(this.batch, features[features.length - 1] as Feature);
    if (this.precision === 'f16' && this.batch > 1 && (count(this.outputShape) / this.batch) % 2 !== 0) {
      // Each batch element's tokens are copied out at its offset; copies need 4-byte alignment.
      throw new GeneratorRunError('f16 with batch > 1 needs an even number of values per token grid');
    }
    if (options.condition) {
      const needed = count(this.conditionShape) * bytesPerElement(this.precision);
      if (options.condition.size < needed) {
        throw new GeneratorRunError(`the condition buffer holds ${options.condition.size} bytes; (B, P, L, C) needs ${needed}`);
      }
      this.condition = options.condition;
    } else {
      this.condition = this.own(createTensorBuffer(ctx.device, count(this.conditionShape), this.precision, 'generator.condition'));
    }
  }

  /**
   * Uploads the weights and compiles every pipeline. `ctx.cache` may be shared with other users of
   * the device; a new cache is made when absent.
   */
  static create(
    ctx: { device: GPUDevice; cache?: PipelineCache; timestampQuery?: boolean },
    generator: LoadedGenerator,
    options: GeneratorRuntimeOptions = {},
  ): GeneratorRuntime {
    const kernelCtx = { device: ctx.device, cache: ctx.cache ?? new PipelineCache(ctx.device), timestampQuery: ctx.timestampQuery };
    const runtime = new GeneratorRuntime(kernelCtx, generator, options);
    runtime.build(options.timestamps ?? true);
    return runtime;
  }

  private own(buffer: GPUBuffer): GPUBuffer {
    this.owned.push(buffer);
    return buffer;
  }

  private weight(name: string): GPUBuffer {
    return this.own(uploadTensor(this.ctx.device, this.generator.weights.float32(name), this.precision, name));
  }

  private build(timestamps: boolean): void {
    const { device } = this.ctx;
    const { decoder } = this.generator.manifest;
    let x = this.condition;
    for (let i = 0; i < decoder.kernel_sizes.length; i++) {
      const inF = decoder.features[i] as Feature;
      const outF = decoder.features[i + 1] as Feature;
      const k = decoder.kernel_sizes[i] as number;
      const input = shapeOf(this.batch, inF);
      const output = shapeOf(this.batch, outF);
      const p = `decoder.layers.${i}.`;
      const scratch = (s: ActivationShape, what: string) => this.own(createTensorBuffer(device, count(s), this.precision, `${p}${what}`));
      const precision = this.precision;

      // Shapes along the two paths (docs/hyperconv.md): A = W then H, B = H then W.
      const afterW: ActivationShape = { ...input, w: output.w };
      const afterH: ActivationShape = { ...input, h: output.h };
      const mixed: ActivationShape = { ...input, h: output.h, w: output.w };
      const normed = scratch(input, 'normed');
      const a1 = scratch(afterW, 'a1');
      const a2 = scratch(mixed, 'a2');
      const b1 = scratch(afterH, 'b1');
      const b2 = scratch(mixed, 'b2');
      const combined = scratch(mixed, 'combined');
      const out = scratch(output, 'out');
      const residual = sameFeature(inF, outF);

      const dispatches: PreparedDispatch[] = [
        prepareLayerNorm(this.ctx, { shape: input, eps: decoder.layer_norm_eps, precision }, {
          x, gamma: this.weight(`${p}norm.weight`), beta: this.weight(`${p}norm.bias`), y: normed,
        }),
        prepareAxisConv(this.ctx, { shape: input, axis: 'W', outChannels: output.w, k, hasBias: false, precision }, {
          x: normed, weight: this.weight(`${p}a_w.weight`), y: a1,
        }),
        prepareAxisConv(this.ctx, { shape: afterW, axis: 'H', outChannels: output.h, k, hasBias: false, precision }, {
          x: a1, weight: this.weight(`${p}a_h.weight`), y: a2,
        }),
        prepareAxisConv(this.ctx, { shape: input, axis: 'H', outChannels: output.h, k, hasBias: false, precision }, {
          x: normed, weight: this.weight(`${p}b_h.weight`), y: b1,
        }),
        prepareAxisConv(this.ctx, { shape: afterH, axis: 'W', outChannels: output.w, k, hasBias: false, precision }, {
          x: b1, weight: this.weight(`${p}b_w.weight`), y: b2,
        }),
        prepareCombine(this.ctx, { shape: mixed, precision }, { pathA: a2, pathBPre: b2, bias: this.weight(`${p}bias`), y: combined }),
        // A residual layer's `x + layer(x)` is fused into the length conv's epilogue.
        prepareAxisConv(this.ctx, { shape: mixed, axis: 'N', outChannels: output.n, k, hasBias: true, residual, precision }, {
          x: combined, weight: this.weight(`${p}len_conv.weight`), bias: this.weight(`${p}len_conv.bias`), y: out,
          ...(residual ? { residual: x } : {}),
        }),
      ];
      this.layers.push({ index: i, input, output, residual, dispatches, outputBuffer: out });
      x = out;
    }
    this.buildDetokenize();
    if (timestamps && this.ctx.timestampQuery) {
      const stages = this.layers.length + 1;
      this.querySet = device.createQuerySet({ type: 'timestamp', count: stages * 2 });
      this.queryResolve = this.own(
        device.createBuffer({ size: stages * 2 * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      );
    }
  }

  private buildDetokenize(): void {
    const { device } = this.ctx;
    const { layout, manifest } = this.generator;
    const tokenSize = layout.tokenHeight * layout.tokenWidth;
    const { entries, totalElements } = packLayout(
      layout.entries.map((e) => ({ tokenOffset: e.token_offset, tokenCount: e.token_count, rows: e.rows, cols: e.cols })),
    );
    this.packed = entries;
    this.packedElements = totalElements;
    const mean = this.weight(manifest.tokens.mean);
    const std = manifest.tokens.std === manifest.tokens.mean ? mean : this.weight(manifest.tokens.std);
    // One batch element at a time: its tokens are copied into a scratch buffer (copies need only
    // 4-byte alignment, bindings 256), then detokenised into that element's packed LoRA buffer.
    this.tokenScratch = this.own(createTensorBuffer(device, layout.tokenCount * tokenSize, this.precision, 'generator.tokens'));
    for (let b = 0; b < this.batch; b++) {
      const lora = this.own(createTensorBuffer(device, totalElements, this.precision, `generator.lora.${b}`));
      this.loraBuffers.push(lora);
      this.detokenizeDispatches.push(
        prepareDetokenize(
          this.ctx,
          { tokenCount: layout.tokenCount, tokenSize, layout: entries, outputElements: totalElements, precision: this.precision },
          { tokens: this.tokenScratch, mean, std, packed: lora },
        ),
      );
    }
  }

  /** Number of decoder layers (one stage each, plus detokenisation). */
  get layerCount(): number {
    return this.layers.length;
  }

  /** Writes a host condition (B, P, L, C) into the condition buffer. */
  writeCondition(data: Float32Array): void {
    this.assertAlive();
    if (data.length !== count(this.conditionShape)) {
      throw new GeneratorRunError(
        `the condition has ${data.length} values; (B=${this.batch}, P, L, C) = (${this.conditionShape.batch}, ${this.conditionShape.n}, ${this.conditionShape.h}, ${this.conditionShape.w}) needs ${count(this.conditionShape)}`,
      );
    }
    writeTensor(this.ctx.device, this.condition, data, this.precision);
  }

  private timestampWrites(stage: number): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) return undefined;
    return { querySet: this.querySet, beginningOfPassWriteIndex: stage * 2, endOfPassWriteIndex: stage * 2 + 1 };
  }

  private recordLayer(encoder: GPUCommandEncoder, layer: LayerPlan): void {
    const tw = this.timestampWrites(layer.index);
    const pass = encoder.beginComputePass({ label: `generator.layer.${layer.index}`, ...(tw ? { timestampWrites: tw } : {}) });
    for (const d of layer.dispatches) recordDispatch(pass, d);
    pass.end();
  }

  private recordDetokenize(encoder: GPUCommandEncoder): void {
    const tokensPer = this.outputShape.n * this.outputShape.h * this.outputShape.w;
    const last = this.layers[this.layers.length - 1] as LayerPlan;
    const stage = this.layers.length;
    for (let b = 0; b < this.batch; b++) {
      const bytes = bytesPerElement(this.precision);
      encoder.copyBufferToBuffer(last.outputBuffer, b * tokensPer * bytes, this.tokenScratch as GPUBuffer, 0, tensorByteSize(tokensPer, this.precision));
      const tw = b === 0 ? this.timestampWrites(stage) : undefined;
      const pass = encoder.beginComputePass({ label: `generator.detokenize.${b}`, ...(tw ? { timestampWrites: tw } : {}) });
      recordDispatch(pass, this.detokenizeDispatches[b] as PreparedDispatch);
      pass.end();
    }
  }

  /** Records the whole cascade and detokenisation into `encoder` (for callers that batch work). */
  encode(encoder: GPUCommandEncoder): void {
    this.assertAlive();
    for (const layer of this.layers) this.recordLayer(encoder, layer);
    this.recordDetokenize(encoder);
  }

  private stageNames(): string[] {
    return [...this.layers.map((l) => `layer ${l.index}`), 'detokenize'];
  }

  /** One submission for everything; resolves when the GPU is done. */
  async run(): Promise<StageTiming[]> {
    this.assertAlive();
    const encoder = this.ctx.device.createCommandEncoder({ label: 'generator.run' });
    this.encode(encoder);
    if (this.querySet && this.queryResolve) {
      encoder.resolveQuerySet(this.querySet, 0, this.querySet.count, this.queryResolve, 0);
    }
    const t0 = performance.now();
    this.ctx.device.queue.submit([encoder.finish()]);
    await this.ctx.device.queue.onSubmittedWorkDone();
    const wall = performance.now() - t0;
    const gpu = await this.readTimestamps();
    return gpu ?? [{ stage: 'all', ms: wall, clock: 'wall' }];
  }

  /**
   * One submission per stage, waiting for each: slower than `run`, but the caller sees every
   * layer finish (progress, heatmaps) and can stop between stages.
   */
  async runStaged(onStage: (timing: StageTiming, layerIndex: number | null) => void | Promise<void>, signal?: AbortSignal): Promise<StageTiming[]> {
    this.assertAlive();
    const timings: StageTiming[] = [];
    const names = this.stageNames();
    for (let s = 0; s < names.length; s++) {
      if (signal?.aborted) throw signal.reason ?? new DOMException('Generation cancelled', 'AbortError');
      const encoder = this.ctx.device.createCommandEncoder({ label: `generator.${names[s]}` });
      const layer = this.layers[s];
      if (layer) this.recordLayer(encoder, layer);
      else this.recordDetokenize(encoder);
      const t0 = performance.now();
      this.ctx.device.queue.submit([encoder.finish()]);
      await this.ctx.device.queue.onSubmittedWorkDone();
      const timing: StageTiming = { stage: names[s] as string, ms: performance.now() - t0, clock: 'wall' };
      timings.push(timing);
      await onStage(timing, layer ? layer.index : null);
    }
    return timings;
  }

  private async readTimestamps(): Promise<StageTiming[] | null> {
    if (!this.querySet || !this.queryResolve) return null;
    const { device } = this.ctx;
    const size = this.queryResolve.size;
    const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.queryResolve, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ticks = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return this.stageNames().map((stage, s) => {
      const begin = ticks[s * 2] as bigint;
      const end = ticks[s * 2 + 1] as bigint;
      return { stage, ms: end > begin ? Number(end - begin) / 1e6 : 0, clock: 'gpu' as const };
    });
  }

  /** The activation after layer `index` (B, N, H, W), residual included. */
  layerOutput(index: number): { buffer: GPUBuffer; shape: ActivationShape } {
    const layer = this.layers[index];
    if (!layer) throw new GeneratorRunError(`there is no layer ${index} (the decoder has ${this.layers.length})`);
    return { buffer: layer.outputBuffer, shape: layer.output };
  }

  async readLayer(index: number): Promise<Float32Array> {
    const { buffer, shape } = this.layerOutput(index);
    return readTensor(this.ctx.device, buffer, count(shape), this.precision);
  }

  /** The generated LoRA of one batch element, packed in layout order (see `loraMatrices`). */
  loraBuffer(batchIndex = 0): GPUBuffer {
    const buffer = this.loraBuffers[batchIndex];
    if (!buffer) throw new GeneratorRunError(`batch element ${batchIndex} does not exist (batch ${this.batch})`);
    return buffer;
  }

  /** Where each PEFT matrix sits in `loraBuffer(b)`: element offset, rows, cols. */
  loraMatrices(): { name: string; offset: number; rows: number; cols: number }[] {
    const { layout } = this.generator;
    return layout.entries.map((e, i) => ({
      name: matrixKey(layout, e),
      offset: (this.packed[i] as TokenLayoutEntry).outOffset,
      rows: e.rows,
      cols: e.cols,
    }));
  }

  /** Reads the generated LoRA back as PEFT name -> matrix (rows x cols, row-major). */
  async readLora(batchIndex = 0): Promise<Map<string, Float32Array>> {
    const all = await readTensor(this.ctx.device, this.loraBuffer(batchIndex), this.packedElements, this.precision);
    const out = new Map<string, Float32Array>();
    for (const m of this.loraMatrices()) out.set(m.name, all.slice(m.offset, m.offset + m.rows * m.cols));
    return out;
  }

  /**
   * A down-sampled view of layer `index` for batch element 0, for the UI: rows are the N axis,
   * columns the flattened H x W map, each mean-pooled to at most `maxSide` cells.
   */
  async snapshot(index: number, maxSide = 64): Promise<Heatmap> {
    const { shape } = this.layerOutput(index);
    const values = await this.readLayer(index);
    return downsample(values.subarray(0, shape.n * shape.h * shape.w), shape.n, shape.h * shape.w, maxSide,
      `layer ${index}: ${shape.n} (N) x ${shape.h}·${shape.w} (H·W)`);
  }

  private assertAlive(): void {
    if (this.destroyed) throw new GeneratorRunError('this generator runtime was destroyed; load the generator again');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const layer of this.layers) layer.dispatches.forEach((d) => d.destroy());
    this.detokenizeDispatches.forEach((d) => d.destroy());
    this.owned.forEach((b) => b.destroy());
    this.querySet?.destroy();
  }
}

/** Mean-pools a rows x cols matrix to at most maxSide x maxSide. */
export function downsample(values: Float32Array, rows: number, cols: number, maxSide: number, describe: string): Heatmap {
  const outRows = Math.min(rows, maxSide);
  const outCols = Math.min(cols, maxSide);
  const data = new Float32Array(outRows * outCols);
  const counts = new Uint32Array(outRows * outCols);
  for (let r = 0; r < rows; r++) {
    const orow = Math.floor((r * outRows) / rows);
    for (let c = 0; c < cols; c++) {
      const o = orow * outCols + Math.floor((c * outCols) / cols);
      data[o] = (data[o] as number) + (values[r * cols + c] as number);
      counts[o] = (counts[o] as number) + 1;
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] as number) / Math.max(1, counts[i] as number);
    data[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { rows: outRows, cols: outCols, data, min, max, describe };
}
