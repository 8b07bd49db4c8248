/**
 * The decoder's KV cache between steps: `present.{l}.key|value` of one step become the next step's
 * `past_key_values.{l}.key|value`. On WebGPU the session returns them as GPU buffers
 * (`preferredOutputLocation: 'gpu-buffer'`), so the cache never leaves the GPU; each step's old
 * tensors are disposed once the new ones exist.
 */
import type { ModelConfig } from './graphs';
import { ort } from './session';

export class KvCache {
  private past: Record<string, ort.Tensor>;
  /** Tokens held (past_sequence_length). */
  length = 0;

  constructor(
    private readonly config: ModelConfig,
    /** float16 in the fp16-compute graphs. */
    private readonly type: 'float32' | 'float16' = 'float32',
    /** Rows: 1 when decoding, P when encoding a batch of prompts. */
    private readonly batch = 1,
  ) {
    this.past = this.empty();
  }

  private empty(): Record<string, ort.Tensor> {
    const { num_hidden_layers: layers, num_key_value_heads: heads, head_dim: dim } = this.config;
    const out: Record<string, ort.Tensor> = {};
    const dims = [this.batch, heads, 0, dim];
    for (let l = 0; l < layers; l++) {
      for (const kv of ['key', 'value']) {
        out[`past_key_values.${l}.${kv}`] = this.type === 'float16'
          ? new ort.Tensor('float16', new Uint16Array(0), dims)
          : new ort.Tensor('float32', new Float32Array(0), dims);
      }
    }
    return out;
  }

  feeds(): Record<string, ort.Tensor> {
    return this.past;
  }

  /** Takes the step's presents as the new past and frees the old past. */
  update(outputs: Record<string, ort.Tensor>, added: number): void {
    const next: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.config.num_hidden_layers; l++) {
      for (const kv of ['key', 'value']) {
        const t = outputs[`present.${l}.${kv}`];
        if (!t) throw new Error(`the model returned no present.${l}.${kv}`);
        next[`past_key_values.${l}.${kv}`] = t;
      }
    }
    this.disposePast();
    this.past = next;
    this.length += added;
  }

  /** Where the cache lives now ('gpu-buffer' on WebGPU after the first step). */
  get location(): string {
    return this.past['past_key_values.0.key']?.location ?? 'none';
  }

  private disposePast(): void {
    for (const t of Object.values(this.past)) if (t.location === 'gpu-buffer') t.dispose();
  }

  dispose(): void {
    this.disposePast();
    this.past = this.empty();
    this.length = 0;
  }
}
