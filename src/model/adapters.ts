/**
 * The adapter registry: every LoRA the page knows (generated or imported), each kept as CPU copies
 * of its PEFT matrices plus its graph inputs, built once when it is registered: CPU tensors on
 * WASM, GPU buffers on WebGPU (wrapped with `ort.Tensor.fromGpuBuffer`). Choosing an adapter is
 * choosing which tensors to feed.
 *
 * PEFT format (DESIGN §4): `adapter_config.json` + `adapter_model.safetensors` with tensors
 * `base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight`, A (r x in),
 * B (out x r), scale lora_alpha / r (lora_alpha / sqrt(r) with use_rslora).
 *
 * Graph inputs (src/model/graphs.ts, trainer/export/web_graphs.py `pack_lora`): per layer and group
 * (q|k|v, o, gate|up, down) `lora.{l}.{group}.A` = the modules' A stacked by rows and
 * `lora.{l}.{group}.B` = their B block-diagonal, times the scale. An adapter of smaller rank than
 * the graph fills the first rows/columns of its blocks (same function); modules it lacks stay zero.
 */
import { unzipSync, zipSync, strToU8, strFromU8 } from 'fflate';
import { DEFAULT_PARENTS, peftTensorName } from '../generator/loraLayout';
import { encodeSafetensors, parseSafetensors, type SafetensorsFile, type SafetensorsTensorInput } from '../generator/safetensors';
import { AdapterValidationError, UnknownAdapterError, describeError } from './errors';
import { loraTargets, type GraphsInfo, type LoraGroup } from './graphs';
import { ort } from './session';

export function peftName(layer: number, module: string, matrix: 'A' | 'B'): string {
  return peftTensorName(layer, DEFAULT_PARENTS[module] ?? 'self_attn', module, matrix);
}

const PEFT_NAME = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_(A|B)\.weight$/;

/** What an adapter must fit: the graph's LoRA inputs and the base weights' hash. */
export interface LoraShape {
  layers: number;
  targets: string[];
  /** Rank of the graph's LoRA blocks (adapters may have a smaller rank). */
  rank: number;
  /** (in, out) of each target module. */
  dims: Record<string, { in: number; out: number }>;
  baseSha256: string;
  /** The graph's LoRA input groups (graphs.json). */
  groups: LoraGroup[];
}

export function loraShapeOf(info: GraphsInfo): LoraShape {
  const dims: Record<string, { in: number; out: number }> = {};
  for (const g of info.lora.groups) for (const b of g.blocks) dims[b.module] = { in: b.in, out: b.out };
  return {
    layers: info.config.num_hidden_layers, targets: loraTargets(info), rank: info.lora.rank, dims,
    baseSha256: info.weights.sha256, groups: info.lora.groups,
  };
}

export type AdapterSource = 'generated' | 'imported';

export interface AdapterSummary {
  id: string;
  name: string;
  source: AdapterSource;
  rank: number;
  alpha: number;
  /** lora_alpha / r (or / sqrt(r) for rsLoRA): folded into the graph's B inputs. */
  scale: number;
  targetModules: string[];
  /** Number of float parameters (A and B, all layers). */
  parameters: number;
}

/** One matrix of an adapter, row-major. */
export interface LoraMatrixData {
  rows: number;
  cols: number;
  data: Float32Array;
}

export interface AdapterData {
  name: string;
  source: AdapterSource;
  rank: number;
  alpha: number;
  scale: number;
  targetModules: string[];
  /** PEFT tensor name -> matrix. */
  matrices: Map<string, LoraMatrixData>;
}

interface AdapterEntry extends AdapterData {
  id: string;
  /** `lora.{l}.{group}.{A|B}` feeds (absent for a graph without LoRA inputs). */
  feeds?: Record<string, ort.Tensor>;
  buffers: GPUBuffer[];
}

interface PeftConfigJson {
  peft_type?: unknown;
  r?: unknown;
  lora_alpha?: unknown;
  target_modules?: unknown;
  fan_in_fan_out?: unknown;
  use_dora?: unknown;
  use_rslora?: unknown;
  bias?: unknown;
  base_model_name_or_path?: unknown;
}

/** Metadata key in adapter_model.safetensors that records the base weights' sha256 (PEFT ignores it). */
export const BASE_HASH_METADATA = 'dragdrop_base_model_sha256';

/**
 * Checks a PEFT adapter against the loaded base and returns its matrices (fp32). Every error names
 * the field, tensor, shape or base that does not fit.
 */
export function parsePeftAdapter(configText: string, safetensors: Uint8Array, shape: LoraShape, name: string): AdapterData {
  let config: PeftConfigJson;
  try {
    config = JSON.parse(configText) as PeftConfigJson;
  } catch (e) {
    throw new AdapterValidationError(`adapter_config.json is not valid JSON (${describeError(e)})`);
  }
  if (typeof config !== 'object' || config === null) throw new AdapterValidationError('adapter_config.json is not a JSON object');
  if (config.peft_type !== undefined && config.peft_type !== 'LORA') {
    throw new AdapterValidationError(`adapter_config.json has peft_type "${String(config.peft_type)}"; only LORA adapters are supported`);
  }
  const r = config.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) throw new AdapterValidationError(`adapter_config.json has r = ${JSON.stringify(r)}; expected a positive integer`);
  if (r > shape.rank) throw new AdapterValidationError(`the adapter has rank ${r}, more than the ${shape.rank} this base model's graph was exported with`);
  const alpha = config.lora_alpha ?? r;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new AdapterValidationError(`adapter_config.json has lora_alpha = ${JSON.stringify(alpha)}; expected a number`);
  if (config.fan_in_fan_out === true) throw new AdapterValidationError('fan_in_fan_out = true (Conv1D-style weights) does not fit this Llama base model');
  if (config.use_dora === true) throw new AdapterValidationError('DoRA adapters (use_dora = true) are not supported');
  if (config.bias !== undefined && config.bias !== 'none') throw new AdapterValidationError(`bias = "${String(config.bias)}" is not supported (only "none")`);
  const scale = config.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r;

  let file: SafetensorsFile;
  try {
    file = parseSafetensors(safetensors, 'adapter_model.safetensors');
  } catch (e) {
    throw new AdapterValidationError(`adapter_model.safetensors could not be read (${describeError(e)})`);
  }
  const recorded = file.metadata[BASE_HASH_METADATA];
  if (recorded !== undefined && recorded !== shape.baseSha256) {
    throw new AdapterValidationError(`it was made for a base model with weights sha256 ${recorded.slice(0, 12)}..., but the loaded base is ${shape.baseSha256.slice(0, 12)}...`);
  }
  const matrices = new Map<string, LoraMatrixData>();
  const modules = new Set<string>();
  for (const tensorName of file.names()) {
    const match = PEFT_NAME.exec(tensorName);
    if (!match) throw new AdapterValidationError(`tensor "${tensorName}" is not a LoRA matrix of a Llama layer (expected base_model.model.model.layers.{l}.{self_attn|mlp}.{module}.lora_{A|B}.weight)`, tensorName);
    const layer = Number(match[1]);
    const module = match[3] ?? '';
    const matrix = match[4] === 'A' ? 'A' : 'B';
    if (layer >= shape.layers) throw new AdapterValidationError(`tensor "${tensorName}" is for layer ${layer}, but the base model has ${shape.layers} layers (0-${shape.layers - 1}); the adapter was made for another base model`, tensorName);
    const dims = shape.dims[module];
    if (!dims) throw new AdapterValidationError(`tensor "${tensorName}" targets module "${module}", which is not one of this model's LoRA targets (${shape.targets.join(', ')})`, tensorName);
    if (DEFAULT_PARENTS[module] !== match[2]) throw new AdapterValidationError(`tensor "${tensorName}" puts ${module} under ${match[2]}; expected ${DEFAULT_PARENTS[module]}`, tensorName);
    const info = file.info(tensorName);
    const want = matrix === 'A' ? [r, dims.in] : [dims.out, r];
    if (info.shape.length !== 2 || info.shape[0] !== want[0] || info.shape[1] !== want[1]) {
      throw new AdapterValidationError(`tensor "${tensorName}" has shape [${info.shape.join(', ')}], expected [${want.join(', ')}] (rank ${r}, ${module} is ${dims.in} -> ${dims.out} in this base model)`, tensorName);
    }
    let data: Float32Array;
    try {
      data = file.float32(tensorName);
    } catch (e) {
      throw new AdapterValidationError(`tensor "${tensorName}": ${describeError(e)}`, tensorName);
    }
    matrices.set(tensorName, { rows: want[0] ?? 0, cols: want[1] ?? 0, data });
    modules.add(module);
  }
  if (matrices.size === 0) throw new AdapterValidationError('adapter_model.safetensors holds no LoRA tensors');
  // every (layer, module) present must have both A and B
  for (const key of matrices.keys()) {
    const other = key.includes('.lora_A.') ? key.replace('.lora_A.', '.lora_B.') : key.replace('.lora_B.', '.lora_A.');
    if (!matrices.has(other)) throw new AdapterValidationError(`tensor "${other}" is missing (its pair "${key}" is present)`, other);
  }
  return { name, source: 'imported', rank: r, alpha, scale, targetModules: shape.targets.filter((m) => modules.has(m)), matrices };
}

/** Reads a PEFT adapter from a zip holding adapter_config.json + adapter_model.safetensors (any folder). */
export function parsePeftZip(zip: Uint8Array, shape: LoraShape, name: string): AdapterData {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (e) {
    throw new AdapterValidationError(`the file is not a readable zip (${describeError(e)})`);
  }
  const find = (base: string) => Object.keys(files).find((k) => k === base || k.endsWith(`/${base}`));
  const configName = find('adapter_config.json');
  const weightsName = find('adapter_model.safetensors');
  if (!configName || !weightsName) {
    throw new AdapterValidationError(`the zip must contain adapter_config.json and adapter_model.safetensors (found: ${Object.keys(files).join(', ') || 'nothing'})`);
  }
  const config = files[configName];
  const weights = files[weightsName];
  if (!config || !weights) throw new AdapterValidationError('the zip entries could not be read');
  return parsePeftAdapter(strFromU8(config), weights, shape, name);
}

/** PEFT files of an adapter: adapter_config.json text and adapter_model.safetensors bytes (F32). */
export function encodePeftAdapter(adapter: AdapterData, shape: LoraShape): { config: string; safetensors: Uint8Array } {
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: 'dragdrop-lora/models/base',
    r: adapter.rank,
    lora_alpha: adapter.alpha,
    lora_dropout: 0.0,
    target_modules: adapter.targetModules,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_rslora: Math.abs(adapter.scale - adapter.alpha / adapter.rank) > 1e-12,
    use_dora: false,
  };
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const [tensorName, m] of adapter.matrices) tensors[tensorName] = { dtype: 'F32', shape: [m.rows, m.cols], data: m.data };
  const safetensors = encodeSafetensors(tensors, { format: 'pt', [BASE_HASH_METADATA]: shape.baseSha256 });
  return { config: JSON.stringify(config, null, 2) + '\n', safetensors };
}

/** The adapter as a zip of `adapter_config.json` + `adapter_model.safetensors`. */
export function zipPeftAdapter(adapter: AdapterData, shape: LoraShape): Uint8Array {
  const { config, safetensors } = encodePeftAdapter(adapter, shape);
  return zipSync({ 'adapter_config.json': strToU8(config), 'adapter_model.safetensors': [safetensors, { level: 0 }] });
}

/**
 * The graph inputs of one layer and group (trainer/export/web_graphs.py `pack_lora`): A (g*r, in) with each
 * module's A in its rows, B (sum of outs, g*r) with each module's B times `scale` in its diagonal
 * block; an adapter of rank r' < r fills the first r' rows/columns of a block, a module it lacks
 * stays zero.
 */
export function groupInputs(
  adapter: Pick<AdapterData, 'matrices'>, layer: number, group: LoraGroup, scale: number,
): { A: { dims: [number, number]; data: Float32Array }; B: { dims: [number, number]; data: Float32Array } } {
  const [aRows, aCols] = group.A;
  const [bRows, bCols] = group.B;
  const a = new Float32Array(aRows * aCols);
  const b = new Float32Array(bRows * bCols);
  for (const block of group.blocks) {
    const ma = adapter.matrices.get(peftName(layer, block.module, 'A'));
    const mb = adapter.matrices.get(peftName(layer, block.module, 'B'));
    if (!ma || !mb) continue;
    a.set(ma.data, block.a_row * aCols); // r' rows of `in` values
    const r = mb.cols;
    for (let i = 0; i < block.out; i++) {
      const row = (block.b_row + i) * bCols + block.b_col;
      for (let j = 0; j < r; j++) b[row + j] = mb.data[i * r + j]! * scale;
    }
  }
  return { A: { dims: [aRows, aCols], data: a }, B: { dims: [bRows, bCols], data: b } };
}

export class AdapterRegistry {
  private readonly entries = new Map<string, AdapterEntry>();
  private baseFeeds?: Record<string, ort.Tensor>;
  private readonly baseBuffers: GPUBuffer[] = [];
  private nextId = 1;

  constructor(
    readonly shape: LoraShape,
    /** Present on WebGPU: feeds are GPU buffers on this device. */
    private readonly device?: GPUDevice,
    /** False for a graph without LoRA inputs (`decoder.onnx`): only the base model can run. */
    private readonly graphHasLora = true,
  ) {}

  /** Registers an adapter and builds its graph inputs (CPU tensors, or GPU buffers on WebGPU). */
  add(data: AdapterData): AdapterSummary {
    const id = `adapter-${this.nextId++}`;
    const entry: AdapterEntry = { ...data, id, buffers: [] };
    if (this.graphHasLora) entry.feeds = this.buildFeeds(entry, entry.scale, entry.buffers);
    this.entries.set(id, entry);
    return this.summary(id);
  }

  list(): AdapterSummary[] {
    return [...this.entries.keys()].map((id) => this.summary(id));
  }

  /** Gives an adapter a new display name (it is also the name of its exported zip). */
  rename(id: string, name: string): AdapterSummary {
    const e = this.entries.get(id);
    if (!e) throw new UnknownAdapterError(id);
    e.name = name;
    return this.summary(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): AdapterData {
    const e = this.entries.get(id);
    if (!e) throw new UnknownAdapterError(id);
    return e;
  }

  summary(id: string): AdapterSummary {
    const e = this.entries.get(id);
    if (!e) throw new UnknownAdapterError(id);
    let parameters = 0;
    for (const m of e.matrices.values()) parameters += m.data.length;
    return { id, name: e.name, source: e.source, rank: e.rank, alpha: e.alpha, scale: e.scale, targetModules: [...e.targetModules], parameters };
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) throw new UnknownAdapterError(id);
    this.entries.delete(id);
    for (const b of e.buffers) b.destroy();
  }

  /** The LoRA inputs for `id`, or for the base model (all zero) when id is null. */
  feeds(id: string | null): Record<string, ort.Tensor> {
    if (!this.graphHasLora) {
      if (id !== null) throw new AdapterValidationError('the model was loaded without LoRA inputs (decoder.onnx); load decoder_lora.onnx to use adapters');
      return {};
    }
    if (id === null) {
      this.baseFeeds ??= this.buildFeeds({ matrices: new Map() }, 0, this.baseBuffers);
      return this.baseFeeds;
    }
    const e = this.entries.get(id);
    if (!e) throw new UnknownAdapterError(id);
    e.feeds ??= this.buildFeeds(e, e.scale, e.buffers);
    return e.feeds;
  }

  /**
   * The LoRA inputs of adapter data that is not registered, every B times `strength` (examples mode's
   * validation scales, the answer gate's adapter before it is sized), lent for the duration of `use`;
   * GPU buffers made for them are destroyed afterwards. Strength 0 lends the base model's inputs.
   */
  async withFeeds<T>(adapter: Pick<AdapterData, 'matrices' | 'scale'>, strength: number, use: (feeds: Record<string, ort.Tensor>) => Promise<T>): Promise<T> {
    if (!this.graphHasLora) throw new AdapterValidationError('the model was loaded without LoRA inputs (decoder.onnx); load decoder_lora.onnx to use adapters');
    if (strength === 0) return use(this.feeds(null));
    const buffers: GPUBuffer[] = [];
    try {
      return await use(this.buildFeeds(adapter, adapter.scale * strength, buffers));
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  private buildFeeds(adapter: Pick<AdapterData, 'matrices'>, scale: number, buffers: GPUBuffer[]): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.shape.layers; l++) {
      for (const group of this.shape.groups) {
        const { A, B } = groupInputs(adapter, l, group, scale);
        feeds[`lora.${l}.${group.name}.A`] = this.tensor(A.data, A.dims, buffers);
        feeds[`lora.${l}.${group.name}.B`] = this.tensor(B.data, B.dims, buffers);
      }
    }
    return feeds;
  }

  private tensor(data: Float32Array, dims: number[], buffers: GPUBuffer[]): ort.Tensor {
    if (!this.device) return new ort.Tensor('float32', data, dims);
    const buffer = this.device.createBuffer({
      size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
    buffers.push(buffer);
    return ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
  }

  dispose(): void {
    for (const e of this.entries.values()) for (const b of e.buffers) b.destroy();
    for (const b of this.baseBuffers) b.destroy();
    this.entries.clear();
    this.baseFeeds = undefined;
  }
}
