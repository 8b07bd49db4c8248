/**
 * The web graphs of a model folder (`graphs.json`, written by trainer/export/web_graphs.py): small ONNX
 * files whose weights are external data in the folder's `model.safetensors`. This module reads the
 * parts the runtime needs and picks the graph for a device.
 */

export type GraphName = 'decoder.onnx' | 'decoder_lora.onnx' | 'decoder_f16.onnx' | 'decoder_lora_f16.onnx';

export interface LoraBlock {
  module: string;
  /** First row of this module's A in the group's A. */
  a_row: number;
  /** Where this module's B block starts in the group's block-diagonal B. */
  b_row: number;
  b_col: number;
  in: number;
  out: number;
}

/** One LoRA input group: A (g*r, in) = the modules' A stacked; B (sum of outs, g*r) block-diagonal, scaled. */
export interface LoraGroup {
  name: string;
  modules: string[];
  A: [number, number];
  B: [number, number];
  blocks: LoraBlock[];
}

export interface GraphEntry {
  /** float32: fp16 weights cast once at session start (any backend); float16: shader-f16 only. */
  compute: 'float32' | 'float16';
  lora: boolean;
  bytes: number;
  sha256: string;
}

export interface ModelConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
}

export interface GraphsInfo {
  format: 'dragdrop-lora/web-graphs';
  config: ModelConfig;
  weights: { file: string; bytes: number; sha256: string };
  lora: { rank: number; groups: LoraGroup[] };
  graphs: Partial<Record<GraphName, GraphEntry>>;
}

/**
 * The graph for a session: with LoRA inputs or not; fp16 compute only where the WebGPU device has
 * `shader-f16` (and the folder has such a graph), else the fp32-compute graph (WASM, SwiftShader).
 */
export function chooseGraph(info: GraphsInfo, want: { lora: boolean; f16: boolean }): GraphName {
  const plain: GraphName = want.lora ? 'decoder_lora.onnx' : 'decoder.onnx';
  const half: GraphName = want.lora ? 'decoder_lora_f16.onnx' : 'decoder_f16.onnx';
  if (want.f16 && info.graphs[half]) return half;
  if (!info.graphs[plain]) throw new Error(`graphs.json lists no ${plain}`);
  return plain;
}

/** The LoRA target modules of the graphs, in group order. */
export function loraTargets(info: GraphsInfo): string[] {
  return info.lora.groups.flatMap((g) => g.modules);
}
