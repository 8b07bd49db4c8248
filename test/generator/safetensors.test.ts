import { describe, expect, it } from 'vitest';

import { MissingTensorError, SafetensorsEncodeError, SafetensorsParseError, TensorDtypeError } from '../../src/generator/errors';
import {
  bfloat16ArrayToFloat32,
  encodeSafetensors,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
  parseSafetensors,
} from '../../src/generator/safetensors';
import { FIXTURE_SKIP_REASON, fixturePresent, randomFloats, rawSafetensors, readFixture } from './helpers';

/** Independent decoding of a half from its fields, straight from IEEE 754. */
function halfByFormula(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function expectParseError(bytes: Uint8Array, ...fragments: string[]): SafetensorsParseError {
  let caught: unknown;
  try {
    parseSafetensors(bytes, 'bad.safetensors');
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsParseError);
  const err = caught as SafetensorsParseError;
  expect(err.code).toBe('safetensors-parse');
  expect(err.message).toContain('bad.safetensors');
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

describe('binary16 conversion', () => {
  it('decodes known bit patterns', () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x3bff, 0.99951171875],
      [0x7bff, 65504], // largest normal
      [0x0400, 2 ** -14], // smallest normal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x8001, -(2 ** -24)],
      [0x0200, 2 ** -15],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, value] of cases) expect(float16BitsToFloat32(bits), `0x${bits.toString(16)}`).toBe(value);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
    expect(float16BitsToFloat32(0xfc01)).toBeNaN();
  });

  it('decodes all 65536 patterns like the IEEE formula, and re-encodes them exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const floats = float16ArrayToFloat32(all);
    const back = float32ArrayToFloat16(floats);
    for (let h = 0; h < 65536; h++) {
      const want = halfByFormula(h);
      const got = floats[h] as number;
      if (Number.isNaN(want)) {
        expect(got).toBeNaN();
        expect(((back[h] as number) & 0x7c00) === 0x7c00 && ((back[h] as number) & 0x3ff) !== 0).toBe(true);
      } else {
        if (!Object.is(got, want)) expect(got, `0x${h.toString(16)}`).toBe(want);
        if (back[h] !== h) expect(back[h], `round trip of 0x${h.toString(16)}`).toBe(h);
      }
    }
  });

  it('rounds floats to the nearest half, ties to even', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (down)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // tie with an odd mantissa -> carries to inf
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e6)).toBe(0xfc00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(float32ToFloat16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 units -> 2
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400); // subnormal rounding up to the smallest normal
    expect(float32ToFloat16Bits(1e-10)).toBe(0x0000);
    expect(float32ToFloat16Bits(-1e-10)).toBe(0x8000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    const nan = float32ToFloat16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
  });

  it('decodes bfloat16 as the top half of a float32', () => {
    const out = bfloat16ArrayToFloat32(new Uint16Array([0x3f80, 0xc049, 0x0000, 0x8000, 0x7f80, 0x0001]));
    expect(Array.from(out.slice(0, 2))).toEqual([1, -3.140625]);
    expect(Object.is(out[3], -0)).toBe(true);
    expect(out[4]).toBe(Infinity);
    expect(out[5]).toBe(2 ** -133); // bf16 subnormal
  });
});

describe('encodeSafetensors / parseSafetensors', () => {
  it('round-trips F32 and F16 tensors, metadata, scalars and empty tensors', () => {
    const w = randomFloats(24, 7);
    const h = randomFloats(10, 9);
    const bits = float32ArrayToFloat16(randomFloats(3, 11));
    const bytes = encodeSafetensors(
      {
        'z.f16': { dtype: 'F16', shape: [2, 5], data: h },
        'a.f16bits': { dtype: 'F16', shape: [3], data: bits },
        w: { dtype: 'F32', shape: [2, 3, 4], data: w },
        scalar: { dtype: 'F32', shape: [], data: new Float32Array([2.5]) },
        empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      },
      { format: 'pt', note: 'héllo' },
    );
    const file = parseSafetensors(bytes, 'round.safetensors');
    expect(file.fileName).toBe('round.safetensors');
    expect(file.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect(file.names().sort()).toEqual(['a.f16bits', 'empty', 'scalar', 'w', 'z.f16']);
    expect(file.info('w')).toMatchObject({ dtype: 'F32', shape: [2, 3, 4], size: 24, byteLength: 96 });
    expect(file.float32('w')).toEqual(w);
    expect(file.float32('scalar')).toEqual(new Float32Array([2.5]));
    expect(file.info('scalar').shape).toEqual([]);
    expect(file.float32('empty').length).toBe(0);
    expect(file.float16Bits('z.f16')).toEqual(float32ArrayToFloat16(h));
    expect(file.float32('z.f16')).toEqual(float16ArrayToFloat32(float32ArrayToFloat16(h)));
    expect(file.float16Bits('a.f16bits')).toEqual(bits);
    // the returned arrays are copies: writing to them leaves the file intact
    file.float32('w').fill(0);
    expect(file.float32('w')).toEqual(w);
  });

  it('writes the header like the reference implementation: 8-byte aligned, space padded, larger dtypes first', () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
        a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
      },
      { k: 'v' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}';
    expect(header.trimEnd()).toBe(json);
    expect(header.slice(json.length)).toMatch(/^ *$/);
    expect(bytes.byteLength).toBe(8 + n + 10);
    expect(Array.from(bytes.subarray(8 + n))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0x00, 0x3c]);
  });

  it('reads tensors at unaligned offsets (as the pure-Python writer may produce)', () => {
    const data = new Uint8Array(1 + 8 + 2);
    data[0] = 7;
    new DataView(data.buffer).setFloat32(1, 1.5, true);
    new DataView(data.buffer).setFloat32(5, -2, true);
    new DataView(data.buffer).setUint16(9, 0xc000, true);
    const bytes = rawSafetensors(
      {
        u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
        f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
        h: { dtype: 'F16', shape: [1], data_offsets: [9, 11] },
      },
      data,
    );
    const file = parseSafetensors(bytes.buffer as ArrayBuffer, 'odd.safetensors');
    expect(file.float32('f')).toEqual(new Float32Array([1.5, -2]));
    expect(file.float32('h')).toEqual(new Float32Array([-2]));
    expect(Array.from(file.bytes('u'))).toEqual([7]);
  });

  it('names the file and tensor when a tensor is absent or of the wrong dtype', () => {
    const file = parseSafetensors(
      rawSafetensors({ i: { dtype: 'I32', shape: [1], data_offsets: [0, 4] }, f: { dtype: 'F32', shape: [], data_offsets: [4, 8] } }, new Uint8Array(8)),
      'x.safetensors',
    );
    expect(() => file.info('nope')).toThrow(MissingTensorError);
    expect(() => file.float32('nope')).toThrow(/x\.safetensors lacks tensor "nope"/);
    expect(() => file.float32('i')).toThrow(TensorDtypeError);
    expect(() => file.float32('i')).toThrow(/"i" is stored as I32/);
    expect(() => file.float16Bits('f')).toThrow(/"f" is stored as F32, but only F16/);
  });
});

describe('parseSafetensors rejects malformed files', () => {
  const f32 = (begin: number, end: number, shape: number[] = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('a file shorter than the length field', () => {
    expectParseError(new Uint8Array(5), 'shorter than the 8-byte header length');
  });

  it('a header length beyond the end of the file', () => {
    expectParseError(rawSafetensors({}, new Uint8Array(0), 1000n), 'header length field says 1000 bytes', 'truncated');
  });

  it('a header length over the 100 MB limit', () => {
    expectParseError(rawSafetensors({}, new Uint8Array(0), 2n ** 40n), 'limit');
  });

  it('a header that is not JSON', () => {
    expectParseError(rawSafetensors('{"w": {"dtype": "F32",'), 'not valid JSON');
  });

  it('a header that is not UTF-8', () => {
    const bytes = rawSafetensors('{"a":1}');
    bytes[10] = 0xff;
    expectParseError(bytes, 'not valid UTF-8');
  });

  it('a header that is not an object', () => {
    expectParseError(rawSafetensors('[1, 2]'), 'does not start with "{"');
  });

  it('an unknown dtype, naming the tensor', () => {
    const err = expectParseError(rawSafetensors({ weird: { dtype: 'F12', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), 'unknown dtype "F12"', '"weird"');
    expect(err.tensor).toBe('weird');
  });

  it('a missing dtype, a bad shape or bad offsets', () => {
    expectParseError(rawSafetensors({ t: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), '"t"', '"dtype" is missing');
    expectParseError(rawSafetensors({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), '"t"', '"shape"');
    expectParseError(rawSafetensors({ t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), '"t"', '"shape"');
    expectParseError(rawSafetensors({ t: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), '"t"', '"data_offsets"');
    expectParseError(rawSafetensors({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), '"t"', 'end before they begin');
    expectParseError(rawSafetensors({ t: 3 }, new Uint8Array(0)), '"t"', 'not an object');
  });

  it('offsets beyond the data section', () => {
    const err = expectParseError(rawSafetensors({ w: f32(0, 16) }, new Uint8Array(8)), '"w"', 'reach beyond the 8-byte data section');
    expect(err.tensor).toBe('w');
  });

  it('offsets that do not match shape x dtype size', () => {
    expectParseError(rawSafetensors({ w: f32(0, 8, [3]) }, new Uint8Array(8)), '"w"', 'span 8 bytes', 'needs 12');
    expectParseError(rawSafetensors({ h: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 4] } }, new Uint8Array(4)), '"h"', 'needs 8');
  });

  it('overlapping tensors', () => {
    expectParseError(rawSafetensors({ a: f32(0, 8), b: f32(4, 12) }, new Uint8Array(12)), '"b"', 'overlap tensor "a"');
  });

  it('gaps and trailing bytes', () => {
    expectParseError(rawSafetensors({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12)), '"b"', 'gap of 4 unused bytes');
    expectParseError(rawSafetensors({ a: f32(0, 4) }, new Uint8Array(12)), 'cover 4 bytes of the data section, but it is 12');
  });

  it('metadata that is not a string map', () => {
    expectParseError(rawSafetensors({ __metadata__: { n: 1 } }), '"__metadata__"."n" is not a string');
    expectParseError(rawSafetensors({ __metadata__: [] }), '"__metadata__" is not an object');
  });
});

describe('encodeSafetensors rejects inconsistent input', () => {
  it('data that does not fill the shape', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(SafetensorsEncodeError);
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/"w".*holds 4 values but data has 3/);
  });

  it('F32 data given as half bits, a reserved name, a bad shape', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Uint16Array(1) } })).toThrow(/F32 data must be a Float32Array/);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } })).toThrow(/reserved/);
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [-1], data: new Float32Array(1) } })).toThrow(/non-negative integers/);
  });
});

describe.skipIf(!fixturePresent)(`files written by the Python trainer${fixturePresent ? '' : ` — SKIPPED: ${FIXTURE_SKIP_REASON}`}`, () => {
  it('parses generator.safetensors and io.safetensors', () => {
    const gen = parseSafetensors(readFixture('generator.safetensors'), 'generator.safetensors');
    expect(gen.metadata['format']).toBe('dnd-lora-generator');
    expect(gen.names().length).toBeGreaterThan(2);
    for (const name of gen.names()) expect(gen.float32(name).every(Number.isFinite), name).toBe(true);
    const io = parseSafetensors(readFixture('io.safetensors'), 'io.safetensors');
    expect(io.info('input').shape.length).toBe(4);
    expect(io.info('output').dtype).toBe('F32');
  });
});
