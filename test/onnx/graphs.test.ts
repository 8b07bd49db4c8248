/**
 * The committed web graphs (models/base/decoder*.onnx + graphs.json, trainer/export/web_graphs.py) against
 * the committed weights and config, in Node alone (no Python):
 *
 * - every weight of every graph is external data pointing into model.safetensors exactly where the
 *   safetensors header puts that tensor (offset, length, shape, dtype), no other initializer or
 *   constant is large, and graphs.json's hashes and sizes are those of the files;
 * - onnxruntime-node runs them: the base model's and the fixture LoRA's greedy continuations of
 *   test/fixtures/generation (PyTorch fp32, trainer/fixture_generation.py) come out token for token
 *   from decoder_lora.onnx (the LoRA through the registry's grouped inputs, src/model/adapters.ts),
 *   and from decoder.onnx for the base; the fp16-compute graphs agree on the first tokens.
 *
 * The same weights' numerics for prompt encoding: test/model/encoder.test.ts. On WebGPU and WASM
 * (onnxruntime-web): test/onnx/web-graphs-parity.test.ts and e2e/engine.e2e.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupInputs, loraShapeOf, parsePeftAdapter, type AdapterData } from '../../src/model/adapters';
import type { GraphName, GraphsInfo } from '../../src/model/graphs';
import { readGraph } from './onnxProto';

const MODEL = resolve(__dirname, '../../models/base');
const info = JSON.parse(readFileSync(join(MODEL, 'graphs.json'), 'utf8')) as GraphsInfo & { config_sha256: string };
const cfg = info.config;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface Header { dtype: string; shape: number[]; offset: number; length: number }
/** Tensor name -> dtype, shape and byte range counted from the start of the file. */
function safetensorsHeader(path: string): Record<string, Header> {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const raw = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, Header> = {};
  for (const [name, t] of Object.entries(raw)) {
    if (name === '__metadata__') continue;
    out[name] = { dtype: t.dtype, shape: t.shape, offset: 8 + n + t.data_offsets[0], length: t.data_offsets[1] - t.data_offsets[0] };
  }
  return out;
}

const GRAPHS: GraphName[] = ['decoder.onnx', 'decoder_lora.onnx', 'decoder_f16.onnx', 'decoder_lora_f16.onnx'];

function interfaceOf(lora: boolean): { inputs: string[]; outputs: string[] } {
  const L = cfg.num_hidden_layers;
  const kv = (prefix: string) => Array.from({ length: L }, (_, l) => [`${prefix}.${l}.key`, `${prefix}.${l}.value`]).flat();
  const groups = info.lora.groups.map((g) => g.name);
  const loraInputs = lora ? Array.from({ length: L }, (_, l) => groups.flatMap((g) => [`lora.${l}.${g}.A`, `lora.${l}.${g}.B`])).flat() : [];
  return { inputs: ['input_ids', 'attention_mask', ...kv('past_key_values'), ...loraInputs], outputs: ['logits', ...kv('present'), 'last_hidden_state'] };
}

describe('committed web graphs vs the committed weights and config', () => {
  const header = safetensorsHeader(join(MODEL, 'model.safetensors'));

  it('graphs.json describes these weights, this config and these graph files', () => {
    const weights = join(MODEL, 'model.safetensors');
    expect(info.weights).toEqual({ file: 'model.safetensors', bytes: statSync(weights).size, sha256: sha256(weights) });
    expect(info.config_sha256).toBe(sha256(join(MODEL, 'config.json')));
    const config = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(config)) expect((info.config as unknown as Record<string, unknown>)[k]).toEqual(v);
    expect(Object.keys(info.graphs).sort()).toEqual([...GRAPHS].sort());
    for (const g of GRAPHS) {
      expect(info.graphs[g]?.sha256).toBe(sha256(join(MODEL, g)));
      expect(info.graphs[g]?.bytes).toBe(statSync(join(MODEL, g)).size);
    }
  });

  it.each(GRAPHS)('%s: every weight is model.safetensors at its header offset; nothing else is large', (name) => {
    const bytes = readFileSync(join(MODEL, name));
    expect(bytes.length).toBeLessThan(120_000);
    const g = readGraph(bytes);
    expect({ inputs: g.inputs, outputs: g.outputs }).toEqual(interfaceOf(info.graphs[name]!.lora));
    expect(g.ops['com.microsoft.GroupQueryAttention']).toBe(cfg.num_hidden_layers);
    const external = g.initializers.filter((t) => t.dataLocation === 1);
    expect(external.map((t) => t.name).sort()).toEqual(Object.keys(header).sort());
    for (const t of external) {
      const h = header[t.name]!;
      expect({ name: t.name, ...t.external, dims: t.dims, dtype: t.dtype }).toEqual({
        name: t.name, location: 'model.safetensors', offset: String(h.offset), length: String(h.length), dims: h.shape,
        dtype: h.dtype === 'F16' ? 10 : 1,
      });
    }
    const inline = g.initializers.filter((t) => t.dataLocation !== 1);
    expect(Math.max(0, ...inline.map((t) => t.inlineBytes))).toBeLessThanOrEqual(4096);
    expect(g.constantBytes).toBeLessThan(16_384);
  });
});

interface GenerationCase { input_ids: number[]; base: number[]; lora: number[] }
const generation = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/generation/cases.json'), 'utf8')) as { cases: GenerationCase[]; new_tokens: number };
const ADAPTER = resolve(__dirname, '../fixtures/generation/adapter');

/** Greedy decoding with the engine's feeds: prefill, then one token per step, KV cache fed back. */
async function greedy(session: ort.InferenceSession, graph: GraphName, prompt: number[], steps: number, lora: Record<string, ort.Tensor>): Promise<number[]> {
  const kv = info.graphs[graph]!.compute;
  const dims = [1, cfg.num_key_value_heads, 0, cfg.head_dim];
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const k of ['key', 'value']) past[`past_key_values.${l}.${k}`] = kv === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  }
  const out: number[] = [];
  let pending = prompt;
  let total = 0;
  const fetches = ['logits', ...Object.keys(past).map((k) => k.replace('past_key_values', 'present'))];
  while (out.length < steps) {
    total += pending.length;
    const r = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(pending, BigInt), [1, pending.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      ...past, ...lora,
    }, fetches);
    const logits = r.logits!.data as Float32Array;
    expect(r.logits!.dims).toEqual([1, 1, cfg.vocab_size]);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    out.push(best);
    pending = [best];
    past = {};
    for (let l = 0; l < cfg.num_hidden_layers; l++) for (const k of ['key', 'value']) past[`past_key_values.${l}.${k}`] = r[`present.${l}.${k}`]!;
  }
  return out;
}

function loraFeeds(adapter: AdapterData | null): Record<string, ort.Tensor> {
  const shape = loraShapeOf(info);
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const group of shape.groups) {
      const { A, B } = groupInputs(adapter ?? { matrices: new Map() }, l, group, adapter?.scale ?? 0);
      feeds[`lora.${l}.${group.name}.A`] = new ort.Tensor('float32', A.data, A.dims);
      feeds[`lora.${l}.${group.name}.B`] = new ort.Tensor('float32', B.data, B.dims);
    }
  }
  return feeds;
}

describe('committed web graphs in onnxruntime-node vs PyTorch greedy decoding (test/fixtures/generation)', () => {
  const sessions = new Map<GraphName, ort.InferenceSession>();
  let adapter: AdapterData;
  const session = async (g: GraphName) => {
    if (!sessions.has(g)) sessions.set(g, await ort.InferenceSession.create(join(MODEL, g), { executionProviders: ['cpu'] }));
    return sessions.get(g)!;
  };
  const agreement: Record<string, number> = {};

  beforeAll(() => {
    adapter = parsePeftAdapter(readFileSync(join(ADAPTER, 'adapter_config.json'), 'utf8'), readFileSync(join(ADAPTER, 'adapter_model.safetensors')),
      loraShapeOf(info), 'fixture');
  });
  afterAll(async () => {
    for (const s of sessions.values()) await s.release();
    console.log(`fp16-compute graphs, greedy tokens equal to PyTorch's (of ${generation.new_tokens} per case): ${JSON.stringify(agreement)}`);
  });

  it('decoder.onnx gives the base model\'s continuations', async () => {
    const s = await session('decoder.onnx');
    for (const c of generation.cases) expect(await greedy(s, 'decoder.onnx', c.input_ids, generation.new_tokens, {})).toEqual(c.base);
  });

  it('decoder_lora.onnx gives the base model with zero LoRA inputs and the fixture LoRA\'s continuations with its grouped inputs', async () => {
    const s = await session('decoder_lora.onnx');
    const zero = loraFeeds(null);
    const fixture = loraFeeds(adapter);
    for (const c of generation.cases) {
      expect(await greedy(s, 'decoder_lora.onnx', c.input_ids, generation.new_tokens, zero)).toEqual(c.base);
      expect(await greedy(s, 'decoder_lora.onnx', c.input_ids, generation.new_tokens, fixture)).toEqual(c.lora);
    }
  });

  it('the fp16-compute graphs agree with PyTorch on the first tokens of every case', async () => {
    for (const [g, key, feeds] of [['decoder_f16.onnx', 'base', {}], ['decoder_lora_f16.onnx', 'lora', loraFeeds(adapter)]] as const) {
      const s = await session(g);
      let same = 0;
      for (const c of generation.cases) {
        const got = await greedy(s, g, c.input_ids, generation.new_tokens, feeds);
        const want = c[key];
        expect(got.slice(0, 4)).toEqual(want.slice(0, 4));
        same += got.filter((t, i) => t === want[i]).length;
      }
      agreement[g] = same / generation.cases.length;
    }
  });
});
