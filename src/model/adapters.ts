/**
 * The adapter registry: every LoRA the page knows (generated or imported), each kept as CPU copies
 * of its PEFT matrices plus, on WebGPU, one GPU buffer per `model_lora.onnx` input (wrapped with
 * `ort.Tensor.fromGpuBuffer`), so choosing an adapter is choosing which tensors to feed.
 *
 * PEFT format (DESIGN §4): `adapter_config.json` + `adapter_model.safetensors` with tensors
 * `base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight`, A (r x in),
 * B (out x r), scale lora_alpha / r (lora_alpha / sqrt(r) with use_rslora). An adapter of smaller
 * rank than the exported graph is zero-padded (same function); target modules it lacks get zeros.
 */
import { unzipSync, zipSync, strToU8, strFromU8 } from 'fflate';
import { DEFAULT_PARENTS, peftTensorName } from '../generator/loraLayout';
import { encodeSafetensors, parseSafetensors, type SafetensorsFile, type SafetensorsTensorInput } from '../generator/safetensors';
import { AdapterValidationError, UnknownAdapterError, describeError } from './errors';
import { ort, type ExportInfo } from './session';

export function peftName(layer: number, module: string, matrix: 'A' | 'B'): string {
  return peftTensorName(layer, DEFAULT_PARENTS[module] ?? 'self_attn', module, matrix);
}

const PEFT_NAME = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_(A|B)\.weight$/;

/** What an adapter must fit: the exported graph's LoRA inputs and the base weights' hash. */
export interface LoraShape {
  layers: number;
  targets: string[];
  /** Rank of the graph's A/B inputs (adapters may have a smaller rank). */
  rank: number;
  /** (in, out) of each target module. */
  dims: Record<string, { in: number; out: number }>;
  baseSha256: string;
}

export function loraShapeOf(info: ExportInfo): LoraShape {
  const dims: Record<string, { in: number; out: number }> = {};
  for (const m of info.lora.targets) {
    const s = info.lora.shapes[m];
    if (!s) throw new Error(`export.json has no LoRA shape for ${m}`);
    dims[m] = { in: s.A[1], out: s.B[0] };
  }
  return { layers: info.config.num_hidden_layers, targets: info.lora.targets, rank: info.lora.rank, dims, baseSha256: info.source.model_safetensors_sha256 };
}

export type AdapterSource = 'generated' | 'imported';

export interface AdapterSummary {
  id: string;
  name: string;
  source: AdapterSource;
  rank: number;
  alpha: number;
  /** lora_alpha / r (or / sqrt(r) for rsLoRA): the graph's `lora_scale`. */
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
  /** `lora.{l}.{m}.{A|B}` + `lora_scale` feeds, built lazily per backend. */
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

/** The graph input `lora.{l}.{m}.{A|B}` of an adapter: zero-padded to the graph's rank. */
export function graphInput(adapter: Pick<AdapterData, 'matrices'>, shape: LoraShape, layer: number, module: string, matrix: 'A' | 'B'): { dims: [number, number]; data: Float32Array } {
  const d = shape.dims[module];
  if (!d) throw new Error(`unknown module ${module}`);
  const R = shape.rank;
  const dims: [number, number] = matrix === 'A' ? [R, d.in] : [d.out, R];
  const out = new Float32Array(dims[0] * dims[1]);
  const m = adapter.matrices.get(peftName(layer, module, matrix));
  if (m) {
    if (matrix === 'A') out.set(m.data); // rows 0..r-1 of [R, in]
    else for (let i = 0; i < d.out; i++) out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), i * R);
  }
  return { dims, data: out };
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
    /** False for a graph without LoRA inputs (`model.onnx`): only the base model can run. */
    private readonly graphHasLora = true,
  ) {}

  add(data: AdapterData): AdapterSummary {
    const id = `adapter-${this.nextId++}`;
    this.entries.set(id, { ...data, id, buffers: [] });
    return this.summary(id);
  }

  /** Registers an adapter whose graph inputs already live in GPU buffers (the generator's output). */
  addWithFeeds(data: AdapterData, feeds: Record<string, ort.Tensor>, buffers: GPUBuffer[]): AdapterSummary {
    const id = `adapter-${this.nextId++}`;
    this.entries.set(id, { ...data, id, feeds, buffers });
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

  /** The LoRA inputs for `id`, or for the base model (lora_scale 0, zero A/B) when id is null. */
  feeds(id: string | null): Record<string, ort.Tensor> {
    if (!this.graphHasLora) {
      if (id !== null) throw new AdapterValidationError('the model was loaded without LoRA inputs (model.onnx); load model_lora.onnx to use adapters');
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

  private buildFeeds(adapter: Pick<AdapterData, 'matrices'>, scale: number, buffers: GPUBuffer[]): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.shape.layers; l++) {
      for (const m of this.shape.targets) {
        for (const ab of ['A', 'B'] as const) {
          const { dims, data } = graphInput(adapter, this.shape, l, m, ab);
          feeds[`lora.${l}.${m}.${ab}`] = this.tensor(data, dims, buffers);
        }
      }
    }
    feeds.lora_scale = new ort.Tensor('float32', Float32Array.of(scale), [1]);
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
