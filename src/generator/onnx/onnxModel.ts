/**
 * A small typed builder of ONNX models (onnx.proto3, the fields it needs): float32 graph inputs and
 * outputs of fixed shape, float32/int64 initializers, nodes of the default domain with int, float
 * and int-list attributes. `OnnxGraph.toModel()` returns the ModelProto bytes that
 * `ort.InferenceSession.create` takes, so a graph can be made in the browser from data (the
 * generator's manifest and weights) with no exporter and no file.
 */
import { ProtoWriter } from './protobuf';

/** ONNX opset the graphs are written for (LayerNormalization needs 17). */
export const ONNX_OPSET = 17;
/** IR version 8 goes with opset 17. */
const IR_VERSION = 8;

// onnx.proto3 field numbers
const MODEL = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
const ATTRIBUTE = { name: 1, f: 2, i: 3, ints: 8, type: 20 } as const;
const ATTRIBUTE_TYPE = { float: 1, int: 2, ints: 7 } as const;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
const DATA_TYPE = { float: 1, int64: 7 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { dimValue: 1 } as const;

/** A node attribute: an int, a float, or a list of ints (what the hyper-convolution ops use). */
export type AttributeValue = { int: number } | { float: number } | { ints: readonly number[] };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Record<string, AttributeValue>;
}

interface Initializer {
  name: string;
  dims: readonly number[];
  type: 'float32' | 'int64';
  raw: Uint8Array;
}

/** One graph: its float32 input/output names and shapes, its initializers and nodes in order. */
export class OnnxGraph {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  private readonly inputs: { name: string; dims: readonly number[] }[] = [];
  private readonly outputs: { name: string; dims: readonly number[] }[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name with `hint` in it (names must be unique in a graph). */
  fresh(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.names.has(name)) name = `${hint}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  input(name: string, dims: readonly number[]): string {
    this.claim(name);
    this.inputs.push({ name, dims });
    return name;
  }

  output(name: string, dims: readonly number[]): void {
    this.outputs.push({ name, dims });
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: the name "${name}" is used twice`);
    this.names.add(name);
  }

  /** A float32 constant; `data.length` must equal the product of `dims`. Returns its name. */
  constant(hint: string, dims: readonly number[], data: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`ONNX graph ${this.name}: ${hint} has ${data.length} values for shape [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    // copy: the raw bytes must be little-endian float32 of exactly this tensor
    const raw = new Uint8Array(Float32Array.from(data).buffer);
    this.initializers.push({ name, dims, type: 'float32', raw });
    return name;
  }

  /** An int64 constant (shapes for Reshape). */
  int64Constant(hint: string, values: readonly number[]): string {
    const name = this.fresh(hint);
    const raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    this.initializers.push({ name, dims: [values.length], type: 'int64', raw });
    return name;
  }

  /** Appends a node whose single output gets a fresh name; returns that name. */
  op(op: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>, hint = op): string {
    const out = this.fresh(hint);
    this.nodes.push({ op, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  }

  /** Appends a node with the given output names. */
  node(node: OnnxNode): void {
    for (const o of node.outputs) {
      if (!this.names.has(o)) this.names.add(o);
    }
    this.nodes.push(node);
  }

  /** The ModelProto bytes (opset 17, default domain). */
  toModel(producer = 'dnd-lora'): Uint8Array {
    const w = new ProtoWriter();
    w.varint(MODEL.irVersion, IR_VERSION);
    w.string(MODEL.producerName, producer);
    w.message(MODEL.graph, (g) => this.writeGraph(g));
    w.message(MODEL.opsetImport, (o) => o.string(OPSET.domain, '').varint(OPSET.version, ONNX_OPSET));
    return w.finish();
  }

  private writeGraph(g: ProtoWriter): void {
    this.nodes.forEach((n, i) => g.message(GRAPH.node, (w) => writeNode(w, n, `${n.op}_${i}`)));
    g.string(GRAPH.name, this.name);
    for (const t of this.initializers) {
      g.message(GRAPH.initializer, (w) => {
        w.packedInt64(TENSOR.dims, t.dims);
        w.varint(TENSOR.dataType, t.type === 'float32' ? DATA_TYPE.float : DATA_TYPE.int64);
        w.string(TENSOR.name, t.name);
        w.bytesField(TENSOR.rawData, t.raw);
      });
    }
    for (const v of this.inputs) g.message(GRAPH.input, (w) => writeValueInfo(w, v.name, v.dims));
    for (const v of this.outputs) g.message(GRAPH.output, (w) => writeValueInfo(w, v.name, v.dims));
  }
}

function writeNode(w: ProtoWriter, n: OnnxNode, name: string): void {
  for (const i of n.inputs) w.string(NODE.input, i);
  for (const o of n.outputs) w.string(NODE.output, o);
  w.string(NODE.name, name);
  w.string(NODE.opType, n.op);
  for (const [key, value] of Object.entries(n.attributes ?? {})) {
    w.message(NODE.attribute, (a) => {
      a.string(ATTRIBUTE.name, key);
      if ('int' in value) a.varint(ATTRIBUTE.i, value.int).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.int);
      else if ('float' in value) a.float(ATTRIBUTE.f, value.float).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.float);
      else a.packedInt64(ATTRIBUTE.ints, value.ints).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.ints);
    });
  }
}

function writeValueInfo(w: ProtoWriter, name: string, dims: readonly number[]): void {
  w.string(VALUE_INFO.name, name);
  w.message(VALUE_INFO.type, (t) =>
    t.message(TYPE.tensorType, (tt) => {
      tt.varint(TENSOR_TYPE.elemType, DATA_TYPE.float);
      tt.message(TENSOR_TYPE.shape, (s) => {
        for (const d of dims) s.message(SHAPE.dim, (dim) => dim.varint(DIM.dimValue, d));
      });
    }),
  );
}
