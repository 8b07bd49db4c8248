/**
 * IEEE 754 binary16 / bfloat16 <-> binary32 conversions, shared by the safetensors reader/writer
 * and the GPU buffer helpers (f16 kernels). Rounding is to nearest, ties to even, as numpy and
 * PyTorch do; test/generator/safetensors.test.ts checks all 65536 half patterns.
 */


const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits -> binary32 bits (exact: every half is representable as a float). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) {
    // Infinity (mantissa 0) or NaN (payload kept, so quiet NaNs stay quiet).
    return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  }
  if (exponent === 0) {
    if (mantissa === 0) return sign >>> 0; // +-0
    // Subnormal half: value = mantissa * 2^-24. Shift until the leading 1 reaches bit 10; after
    // s shifts, value = 1.f * 2^(-14 - s), so the float exponent field is 127 - 14 - s.
    let shifts = 0;
    do {
      mantissa <<= 1;
      shifts += 1;
    } while ((mantissa & 0x400) === 0);
    return (sign | ((113 - shifts) << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
}

let halfTable: Float32Array | undefined;

/** All 65536 half values as floats (256 KB), built on first use. */
function halfToFloatTable(): Float32Array {
  if (halfTable === undefined) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = halfBitsToFloatBits(h);
    halfTable = new Float32Array(bits.buffer);
  }
  return halfTable;
}

/** Converts one IEEE binary16 bit pattern to a number (subnormals, +-0, +-inf and NaN included). */
export function float16BitsToFloat32(bits: number): number {
  u32Scratch[0] = halfBitsToFloatBits(bits & 0xffff);
  return f32Scratch[0] as number;
}

/**
 * Converts a number to IEEE binary16 bits, rounding to nearest, ties to even (as numpy and
 * PyTorch do), via its binary32 value. Overflow gives +-inf; NaN gives a quiet NaN.
 */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) {
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const e = exponent - 127 + 15; // half exponent field
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Half subnormal (or zero): the result counts units of 2^-24. The value is
    // significand24 * 2^(e - 15 - 23), so the count is significand24 >> (14 - e), rounded.
    if (e < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    const halfway = 1 << (shift - 1);
    const rest = significand & ((1 << shift) - 1);
    let r = significand >>> shift;
    if (rest > halfway || (rest === halfway && (r & 1) === 1)) r += 1; // may round up to the smallest normal
    return sign | r;
  }
  let r = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r += 1; // a carry may reach the exponent, up to inf
  return sign | r;
}

/** Converts binary16 bit patterns to floats. */
export function float16ArrayToFloat32(bits: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i] as number] as number;
  return out;
}

/** Converts floats to binary16 bit patterns (round to nearest even). */
export function float32ArrayToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i] as number);
  return out;
}

/** Converts bfloat16 bit patterns to floats (exact: bf16 is the top half of a binary32). */
export function bfloat16ArrayToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = (bits[i] as number) << 16;
  return new Float32Array(out.buffer);
}
