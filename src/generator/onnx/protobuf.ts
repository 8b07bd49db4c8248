/**
 * The protobuf wire format, write side only, as much as an ONNX ModelProto needs: varints, 32-bit
 * floats, length-delimited bytes and nested messages, packed repeated int64 and float. No schema:
 * the ONNX field numbers live with the builder (src/generator/onnx/onnxModel.ts).
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** Appends fields to a growing byte buffer; `finish()` returns what was written. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private readonly view4 = new DataView(new ArrayBuffer(4));

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(value: bigint): void {
    // int64 fields are two's complement on the wire: a negative value is its 64-bit pattern
    let v = BigInt.asUintN(64, value);
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt((field << 3) | wire));
  }

  /** An int32/int64/enum field (varint). */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(typeof value === 'bigint' ? value : BigInt(value));
    return this;
  }

  /** A `float` field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.view4.setFloat32(0, value, true);
    this.reserve(4);
    this.buf.set(new Uint8Array(this.view4.buffer), this.len);
    this.len += 4;
    return this;
  }

  /** A `bytes` field. */
  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(BigInt(data.byteLength));
    this.reserve(data.byteLength);
    this.buf.set(data, this.len);
    this.len += data.byteLength;
    return this;
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  /** An embedded message, written by `write` into a writer of its own. */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytesField(field, inner.finish());
  }

  /** A packed `repeated int64`. */
  packedInt64(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(typeof v === 'bigint' ? v : BigInt(v));
    return this.bytesField(field, inner.finish());
  }

  /** A packed `repeated float`. */
  packedFloat(field: number, values: readonly number[]): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytesField(field, data);
  }

  /** What was written, as a new array. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
