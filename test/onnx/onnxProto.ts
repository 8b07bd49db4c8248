/**
 * Just enough of the ONNX protobuf (ModelProto -> GraphProto) to check a graph file in Node without
 * the `onnx` package: inputs, outputs, operator types, and every initializer's name, dtype, dims and
 * external-data entries (location, offset, length). Wire format: varint keys (field << 3 | type).
 */

interface Field {
  field: number;
  wire: number;
  /** varint value (as a number: every value read here fits 2^53) or the bytes of a length-delimited field. */
  value: number | Uint8Array;
}

function readVarint(buf: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; ; i++) {
    const byte = buf[i];
    if (byte === undefined) throw new Error('protobuf: truncated varint');
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, i + 1];
  }
}

export function parseMessage(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  while (i < buf.length) {
    const [key, next] = readVarint(buf, i);
    i = next;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const [v, n] = readVarint(buf, i);
      out.push({ field, wire, value: v });
      i = n;
    } else if (wire === 2) {
      const [len, n] = readVarint(buf, i);
      out.push({ field, wire, value: buf.subarray(n, n + len) });
      i = n + len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      out.push({ field, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else {
      throw new Error(`protobuf: wire type ${wire} is not supported`);
    }
  }
  return out;
}

const text = (v: number | Uint8Array) => (typeof v === 'number' ? String(v) : new TextDecoder().decode(v));
const bytesOf = (f: Field[], n: number) => f.filter((x) => x.field === n && typeof x.value !== 'number').map((x) => x.value as Uint8Array);
const stringsOf = (f: Field[], n: number) => bytesOf(f, n).map(text);

export interface Initializer {
  name: string;
  /** TensorProto.DataType: 1 float, 10 float16, 7 int64, ... */
  dtype: number;
  dims: number[];
  /** 1 = EXTERNAL. */
  dataLocation: number;
  external: Record<string, string>;
  /** Bytes of inline data (raw_data), 0 for external tensors. */
  inlineBytes: number;
}

export interface GraphSummary {
  inputs: string[];
  outputs: string[];
  ops: Record<string, number>;
  initializers: Initializer[];
  /** Bytes of tensors held by Constant nodes (they must stay small too). */
  constantBytes: number;
}

function readInitializer(buf: Uint8Array): Initializer {
  const f = parseMessage(buf);
  const dims: number[] = [];
  for (const x of f.filter((y) => y.field === 1)) {
    if (typeof x.value === 'number') dims.push(x.value);
    else for (let i = 0; i < x.value.length;) { const [v, n] = readVarint(x.value, i); dims.push(v); i = n; }
  }
  const external: Record<string, string> = {};
  for (const entry of bytesOf(f, 13)) {
    const kv = parseMessage(entry);
    external[stringsOf(kv, 1)[0] ?? ''] = stringsOf(kv, 2)[0] ?? '';
  }
  const num = (n: number) => f.find((x) => x.field === n && typeof x.value === 'number')?.value as number | undefined;
  return {
    name: stringsOf(f, 8)[0] ?? '', dtype: num(2) ?? 0, dims, dataLocation: num(14) ?? 0, external,
    inlineBytes: bytesOf(f, 9).reduce((s, b) => s + b.length, 0),
  };
}

/** Inputs, outputs, operator counts (domain-qualified outside the default domain) and initializers. */
export function readGraph(model: Uint8Array): GraphSummary {
  const graph = bytesOf(parseMessage(model), 7)[0];
  if (!graph) throw new Error('not an ONNX model: no graph');
  const g = parseMessage(graph);
  const ops: Record<string, number> = {};
  let constantBytes = 0;
  for (const node of bytesOf(g, 1)) {
    const n = parseMessage(node);
    const op = stringsOf(n, 4)[0] ?? '?';
    const domain = stringsOf(n, 7)[0] ?? '';
    const key = domain ? `${domain}.${op}` : op;
    ops[key] = (ops[key] ?? 0) + 1;
    if (op === 'Constant') for (const attr of bytesOf(n, 5)) for (const t of bytesOf(parseMessage(attr), 5)) constantBytes += t.length;
  }
  const names = (n: number) => bytesOf(g, n).map((v) => stringsOf(parseMessage(v), 1)[0] ?? '');
  return { inputs: names(11), outputs: names(12), ops, initializers: bytesOf(g, 5).map(readInitializer), constantBytes };
}
