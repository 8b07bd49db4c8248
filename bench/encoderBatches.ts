/**
 * The prompt encoder's batching on its own, in Node (scripts/bench-adapter.ts, section
 * `encoder_batching`): the engine's encodeIds (src/model/encoder.ts) over the committed base model's
 * web graph on onnxruntime-web's WebAssembly backend (its Node build: the same kernels as the app's, threads as workers),
 * one right-padded batch of all P prompts vs the batches of similar length it plans, interleaved run by run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { conditionIds, encodeIds, idWindow, planEncoderBatches, type EncoderRun } from '../src/model/encoder';
import { tokenizerFromFiles } from '../src/model/tokenizer';
import { median } from './stats';

interface GraphInput {
  name: string;
  shape: (number | string)[];
}

export interface EncoderBatchingResult {
  threads: number;
  runs: number;
  sets: Record<string, {
    tokens: number[];
    batches: number[][];
    one_batch_tokens: number;
    planned_tokens: number;
    one_batch_ms: number;
    planned_ms: number;
    one_batch_over_planned: number;
  }>;
}

export async function benchEncoderBatching(root: string, sets: Record<string, string[]>, threads: number, runs: number): Promise<EncoderBatchingResult> {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const base = path.join(root, 'models/base');
  const info = JSON.parse(readFileSync(path.join(base, 'graphs.json'), 'utf8')) as {
    config: { num_hidden_layers: number; num_key_value_heads: number; head_dim: number; hidden_size: number };
    graphs: Record<string, { inputs: GraphInput[] }>;
  };
  const manifest = JSON.parse(readFileSync(path.join(root, 'models/generator/generator.json'), 'utf8')) as {
    encoder: { max_tokens: number; window: 'head' | 'tail'; max_input_tokens: number; channels: number };
  };
  const session = await ort.InferenceSession.create(readFileSync(path.join(base, 'decoder_lora.onnx')), {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all',
    externalData: [{ path: 'model.safetensors', data: new Uint8Array(readFileSync(path.join(base, 'model.safetensors'))) }],
  });
  // zero LoRA inputs: the base model, as the engine encodes (src/model/hiddenStates.ts)
  const lora: Record<string, ort.Tensor> = {};
  for (const i of info.graphs['decoder_lora.onnx']?.inputs ?? []) {
    if (!i.name.startsWith('lora.')) continue;
    const dims = i.shape as number[];
    lora[i.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  const { num_hidden_layers: layers, num_key_value_heads: heads, head_dim: dim } = info.config;
  const run: EncoderRun = async (ids, mask, batch, seq) => {
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [batch, seq]), attention_mask: new ort.Tensor('int64', mask, [batch, seq]), ...lora };
    for (let l = 0; l < layers; l++) for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [batch, heads, 0, dim]);
    const out = await session.run(feeds, ['last_hidden_state']);
    return out.last_hidden_state!.data as Float32Array;
  };
  const tokenizer = tokenizerFromFiles(readFileSync(path.join(base, 'tokenizer.json')), readFileSync(path.join(base, 'tokenizer_config.json')));
  const { max_tokens: L, channels: C } = manifest.encoder;
  const window = idWindow({ maxTokens: L, window: manifest.encoder.window, maxInputTokens: manifest.encoder.max_input_tokens });
  const result: EncoderBatchingResult = { threads, runs, sets: {} };
  for (const [name, prompts] of Object.entries(sets)) {
    const ids = conditionIds((t) => tokenizer.encode(t), prompts, L, 0, 'plain', window);
    const tokens = ids.map((r) => r.length);
    const batches = planEncoderBatches(tokens);
    const oneBatch: number[] = [];
    const planned: number[] = [];
    // one warm-up each, then interleaved
    await encodeIds(run, ids, L, C, window.length, Infinity);
    await encodeIds(run, ids, L, C, window.length);
    for (let r = 0; r < runs; r++) {
      for (const [overhead, times] of (r % 2 ? [[undefined, planned], [Infinity, oneBatch]] : [[Infinity, oneBatch], [undefined, planned]]) as [number | undefined, number[]][]) {
        const t0 = performance.now();
        await encodeIds(run, ids, L, C, window.length, overhead);
        times.push(performance.now() - t0);
      }
    }
    const oneMs = median(oneBatch);
    const plannedMs = median(planned);
    result.sets[name] = {
      tokens, batches,
      one_batch_tokens: tokens.length * Math.max(...tokens),
      planned_tokens: batches.reduce((s, b) => s + b.length * Math.max(...b.map((i) => tokens[i] as number)), 0),
      one_batch_ms: Number(oneMs.toFixed(1)), planned_ms: Number(plannedMs.toFixed(1)),
      one_batch_over_planned: Number((oneMs / plannedMs).toFixed(3)),
    };
  }
  await session.release();
  return result;
}
