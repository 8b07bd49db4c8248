/**
 * safetensors reader and writer.
 *
 * There is no maintained npm library for safetensors (the Hugging Face `safetensors` project ships
 * Rust and Python only), so the format is implemented here. Format, as written by the reference
 * implementation (`safetensors.torch.save_file`):
 *
 *   [8 bytes]  N, little-endian u64: the header length in bytes
 *   [N bytes]  UTF-8 JSON object: { "<name>": { "dtype", "shape", "data_offsets": [begin, end] },
 *                                   "__metadata__"?: { "<key>": "<string>" } },
 *              padded with spaces so that 8 + N is a multiple of 8
 *   [rest]     the data section; offsets are relative to its start
 *
 * Validation follows the reference implementation: the header must be a JSON object starting with
 * `{`, at most 100 MB; every dtype known; every byte length equal to (product of shape) x (dtype
 * size); tensors, sorted by offset, tile the data section exactly (no overlap, no gap, no trailing
 * bytes). Every failure throws a {@link SafetensorsParseError} naming the file and, where there is
 * one, the tensor.
 *
 * All multi-byte values are little-endian, as the format requires; typed-array fast paths are
 * used only on little-endian hosts (every browser), with a DataView fallback otherwise.
 */

import { MissingTensorError, SafetensorsEncodeError, SafetensorsParseError, TensorDtypeError } from './errors';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32, float32ArrayToFloat16 } from '../numeric/float16';

/** Every dtype the reference implementation knows, with its size in bytes. */
const DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** The floating-point dtypes that {@link SafetensorsFile.float32} can read. */
export const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

/** Largest header the reference implementation accepts (its `MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000;

export function isSafetensorsDtype(value: string): value is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZES, value);
}

export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return DTYPE_SIZES[dtype];
}

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Offset of the tensor's first byte from the start of the whole file. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Number of elements (product of shape; 1 for a scalar). */
  readonly size: number;
}

export interface SafetensorsFile {
  /** The name given to {@link parseSafetensors}; used in every error message. */
  readonly fileName: string;
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in data-section order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  /** Tensor names, in data-section order. */
  names(): string[];
  has(name: string): boolean;
  /** Throws {@link MissingTensorError} when absent. */
  info(name: string): SafetensorsTensorInfo;
  /** The tensor's raw little-endian bytes: a view into the parsed buffer (no copy; do not write). */
  bytes(name: string): Uint8Array;
  /**
   * The tensor as a new Float32Array: F32 copied, F16 and BF16 converted. Other dtypes throw
   * {@link TensorDtypeError}.
   */
  float32(name: string): Float32Array;
  /** An F16 tensor's raw IEEE binary16 bit patterns as a new Uint16Array (for an f16 GPU path). */
  float16Bits(name: string): Uint16Array;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// binary16 <-> binary32 (one implementation, shared with the GPU buffer helpers)

export {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
} from '../numeric/float16';

// ---------------------------------------------------------------------------------------------
// reading

function readU16Array(bytes: Uint8Array): Uint16Array {
  const n = bytes.byteLength / 2;
  if (HOST_IS_LITTLE_ENDIAN) {
    if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n).slice();
    return new Uint16Array(bytes.slice().buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

function readF32Array(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / 4;
  if (HOST_IS_LITTLE_ENDIAN) {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n).slice();
    return new Float32Array(bytes.slice().buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses and validates a safetensors file. The returned object reads tensors lazily from `data`,
 * which must not be modified afterwards.
 *
 * @param data     the whole file
 * @param fileName shown in error messages (e.g. `generator.safetensors`)
 * @throws SafetensorsParseError on any malformed input
 */
export function parseSafetensors(data: ArrayBuffer | Uint8Array, fileName = 'safetensors file'): SafetensorsFile {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const fail = (detail: string, tensor?: string): never => {
    throw new SafetensorsParseError(fileName, detail, tensor);
  };

  if (bytes.byteLength < 8) fail(`the file is ${bytes.byteLength} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength64 = view.getBigUint64(0, true);
  if (headerLength64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`the header length field says ${headerLength64} bytes, more than the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(headerLength64);
  if (8 + headerLength > bytes.byteLength) {
    fail(
      `the header length field says ${headerLength} bytes, but only ${bytes.byteLength - 8} bytes follow it ` +
        '(truncated file?)',
    );
  }

  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (!headerText.startsWith('{')) fail('the header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    return fail(`the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(header)) return fail('the header is not a JSON object');

  const metadata: Record<string, string> = {};
  const rawMetadata = header['__metadata__'];
  if (rawMetadata !== undefined) {
    if (!isPlainObject(rawMetadata)) fail('"__metadata__" is not an object of strings');
    for (const [key, value] of Object.entries(rawMetadata as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`"__metadata__"."${key}" is not a string`);
      metadata[key] = value as string;
    }
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const infos: SafetensorsTensorInfo[] = [];
  const relative = new Map<string, [number, number]>();

  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isPlainObject(entry)) return fail('the entry is not an object', name);
    const dtype = entry['dtype'];
    if (typeof dtype !== 'string') return fail('"dtype" is missing or not a string', name);
    if (!isSafetensorsDtype(dtype)) {
      return fail(`unknown dtype "${dtype}" (known: ${Object.keys(DTYPE_SIZES).join(', ')})`, name);
    }
    const shape = entry['shape'];
    if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
      return fail(`"shape" must be a list of non-negative integers, got ${JSON.stringify(shape)}`, name);
    }
    const offsets = entry['data_offsets'];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
      return fail(`"data_offsets" must be [begin, end] of non-negative integers, got ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`, name);
    if (end > dataLength) {
      fail(`data_offsets [${begin}, ${end}] reach beyond the ${dataLength}-byte data section (truncated file?)`, name);
    }
    let size = 1;
    for (const d of shape as number[]) size *= d;
    const expectedBytes = size * DTYPE_SIZES[dtype];
    if (!Number.isSafeInteger(expectedBytes) || end - begin !== expectedBytes) {
      fail(
        `data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape [${(shape as number[]).join(', ')}] ` +
          `of ${dtype} needs ${expectedBytes}`,
        name,
      );
    }
    relative.set(name, [begin, end]);
    infos.push({
      name,
      dtype,
      shape: Object.freeze([...(shape as number[])]),
      byteOffset: dataStart + begin,
      byteLength: end - begin,
      size,
    });
  }

  // Sorted by offset, the tensors must tile the data section exactly.
  infos.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  let cursor = 0;
  let previous: string | undefined;
  for (const info of infos) {
    const [begin, end] = relative.get(info.name) as [number, number];
    if (begin < cursor) {
      fail(`data_offsets [${begin}, ${end}] overlap tensor "${previous ?? ''}", which ends at ${cursor}`, info.name);
    }
    if (begin > cursor) {
      fail(`data_offsets [${begin}, ${end}] leave a gap of ${begin - cursor} unused bytes before the tensor`, info.name);
    }
    cursor = end;
    previous = info.name;
  }
  if (cursor !== dataLength) {
    fail(`the tensors cover ${cursor} bytes of the data section, but it is ${dataLength} bytes long`);
  }

  const tensors = new Map<string, SafetensorsTensorInfo>(infos.map((info) => [info.name, info]));
  return new ParsedSafetensors(fileName, Object.freeze(metadata), tensors, bytes);
}

class ParsedSafetensors implements SafetensorsFile {
  constructor(
    readonly fileName: string,
    readonly metadata: Readonly<Record<string, string>>,
    readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>,
    private readonly file: Uint8Array,
  ) {}

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.tensors.get(name);
    if (info === undefined) throw new MissingTensorError(this.fileName, [name]);
    return info;
  }

  bytes(name: string): Uint8Array {
    const info = this.info(name);
    return this.file.subarray(info.byteOffset, info.byteOffset + info.byteLength);
  }

  float32(name: string): Float32Array {
    const info = this.info(name);
    const raw = this.bytes(name);
    switch (info.dtype) {
      case 'F32':
        return readF32Array(raw);
      case 'F16':
        return float16ArrayToFloat32(readU16Array(raw));
      case 'BF16':
        return bfloat16ArrayToFloat32(readU16Array(raw));
      default:
        throw new TensorDtypeError(this.fileName, name, info.dtype, FLOAT_DTYPES);
    }
  }

  float16Bits(name: string): Uint16Array {
    const info = this.info(name);
    if (info.dtype !== 'F16') throw new TensorDtypeError(this.fileName, name, info.dtype, ['F16']);
    return readU16Array(this.bytes(name));
  }
}

// ---------------------------------------------------------------------------------------------
// writing

export interface SafetensorsTensorInput {
  dtype: 'F32' | 'F16';
  shape: readonly number[];
  /**
   * F32: a Float32Array. F16: a Float32Array (rounded to half, nearest even) or a Uint16Array of
   * binary16 bit patterns (written as is).
   */
  data: Float32Array | Uint16Array;
}

/**
 * Writes a safetensors file the way the reference implementation does: `__metadata__` first, then
 * tensors ordered by dtype size (larger first, so every tensor stays aligned to its element size)
 * and then by name; the header padded with spaces so that the data section starts at a multiple of
 * 8 bytes.
 *
 * @throws SafetensorsEncodeError when a tensor's data does not fit its shape or dtype
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const prepared: { name: string; dtype: 'F32' | 'F16'; shape: number[]; bytes: Uint8Array }[] = [];
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new SafetensorsEncodeError('"__metadata__" is reserved and cannot name a tensor', name);
    const { dtype, shape, data } = tensor;
    if (dtype !== 'F32' && dtype !== 'F16') throw new SafetensorsEncodeError(`unsupported dtype "${String(dtype)}"`, name);
    if (!shape.every((d) => isNonNegativeSafeInteger(d))) {
      throw new SafetensorsEncodeError(`shape [${shape.join(', ')}] is not a list of non-negative integers`, name);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new SafetensorsEncodeError(`shape [${shape.join(', ')}] holds ${size} values but data has ${data.length}`, name);
    }
    let bytes: Uint8Array;
    if (dtype === 'F32') {
      if (!(data instanceof Float32Array)) throw new SafetensorsEncodeError('F32 data must be a Float32Array', name);
      bytes = littleEndianBytes(data);
    } else {
      const bits = data instanceof Uint16Array ? data : float32ArrayToFloat16(data);
      bytes = littleEndianBytes(bits);
    }
    prepared.push({ name, dtype, shape: [...shape], bytes });
  }
  prepared.sort((a, b) => DTYPE_SIZES[b.dtype] - DTYPE_SIZES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new SafetensorsEncodeError(`metadata "${key}" is not a string`);
    }
    header['__metadata__'] = metadata;
  }
  let offset = 0;
  for (const t of prepared) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = json.byteLength + ((8 - (json.byteLength % 8)) % 8);

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let cursor = 8 + headerLength;
  for (const t of prepared) {
    out.set(t.bytes, cursor);
    cursor += t.bytes.byteLength;
  }
  return out;
}

function littleEndianBytes(values: Float32Array | Uint16Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  if (values instanceof Float32Array) values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}
