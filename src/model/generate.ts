/**
 * The decode loop: prefill the prompt in one step, then one token per step with the KV cache fed
 * back (on the GPU for WebGPU), the LoRA inputs of the chosen adapter (or the base: zero inputs)
 * added to every step. Only `logits` (the last position's) and the presents are fetched, never the
 * hidden states. Tokens stream out through `onToken`; a cancel request is honoured before the next
 * step starts, so a cancelled generation stops within one step.
 */
import { KvCache } from './kvCache';
import { Sampler, type SamplingOptions } from './sampling';
import { ort, type ModelSession } from './session';

export type StopReason = 'stop-token' | 'stop-string' | 'max-tokens' | 'context-full' | 'cancelled';

export interface CancelToken {
  cancelled: boolean;
}

export interface DecodeOptions {
  /** LoRA inputs (from the adapter registry) for every step. */
  loraFeeds: Record<string, ort.Tensor>;
  maxTokens: number;
  stopIds?: ReadonlySet<number>;
  sampling?: SamplingOptions;
  cancel?: CancelToken;
  /**
   * Chooses each next token from the step's logits (vocab values, valid only during the call) instead of
   * the sampler: teacher forcing, or greedy decoding that also reads the logits (src/model/logits.ts).
   */
  pick?: (logits: Float32Array, index: number) => number;
  /** Called after every new token; returning true stops the generation (a stop string matched). */
  onToken?: (id: number, index: number) => boolean | void;
  /** Let queued messages (a cancel) run between steps. Default: a MessageChannel hop. */
  yieldBetweenSteps?: () => Promise<void>;
}

export interface DecodeResult {
  /** New token ids (the stop token included when one ended the generation). */
  ids: number[];
  stopReason: StopReason;
  /** Prompt tokens and time of the prefill step. */
  promptTokens: number;
  prefillMs: number;
  /** Time of the steps after the prefill (each produced one token), and their count. */
  decodeMs: number;
  decodeSteps: number;
  /** Where the KV cache lived during decoding ('gpu-buffer' on WebGPU). */
  kvLocation: string;
}

let channel: MessageChannel | undefined;
const waiting: (() => void)[] = [];
/** A macrotask hop without setTimeout's 4 ms clamp. */
export function nextMacrotask(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel?.port2.postMessage(0);
  });
}

/** `logits` and every `present.*`: what a decode step needs back. */
export function decodeOutputs(layers: number): string[] {
  const names = ['logits'];
  for (let l = 0; l < layers; l++) names.push(`present.${l}.key`, `present.${l}.value`);
  return names;
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

export async function decode(model: ModelSession, promptIds: readonly number[], options: DecodeOptions): Promise<DecodeResult> {
  if (promptIds.length === 0) throw new Error('the prompt has no tokens');
  const { vocab_size: vocab, max_position_embeddings: maxPositions } = model.info.config;
  const sampler = new Sampler(options.sampling);
  const cache = new KvCache(model.info.config, model.kvType);
  const fetches = decodeOutputs(model.info.config.num_hidden_layers);
  const yieldStep = options.yieldBetweenSteps ?? nextMacrotask;
  const ids: number[] = [];
  let pending = [...promptIds];
  let stopReason: StopReason = 'max-tokens';
  let prefillMs = 0;
  let decodeMs = 0;
  let decodeSteps = 0;
  let kvLocation = 'none';
  try {
    while (ids.length < options.maxTokens) {
      if (options.cancel?.cancelled) {
        stopReason = 'cancelled';
        break;
      }
      const past = cache.length;
      const total = past + pending.length;
      if (total > maxPositions) {
        stopReason = 'context-full';
        break;
      }
      const t0 = performance.now();
      // positions are implied by the mask (the web graphs: 0..n-1, then the past length)
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64(pending, [1, pending.length]),
        attention_mask: int64(new Array<number>(total).fill(1), [1, total]),
        ...cache.feeds(),
        ...options.loraFeeds,
      };
      const out = (await model.session.run(feeds, fetches)) as Record<string, ort.Tensor>;
      const logits = out.logits;
      if (!logits) throw new Error('the model returned no logits');
      const data = (logits.location === 'cpu' ? logits.data : await logits.getData()) as Float32Array;
      // the graph returns the last position only
      const next = options.pick ? options.pick(data.subarray(0, vocab), ids.length) : sampler.pick(data, 0, vocab);
      logits.dispose();
      cache.update(out, pending.length);
      kvLocation = cache.location;
      const ms = performance.now() - t0;
      if (past === 0) prefillMs = ms;
      else {
        decodeMs += ms;
        decodeSteps += 1;
      }
      ids.push(next);
      pending = [next];
      const stopByString = options.onToken?.(next, ids.length - 1) === true;
      if (options.stopIds?.has(next)) {
        stopReason = 'stop-token';
        break;
      }
      if (stopByString) {
        stopReason = 'stop-string';
        break;
      }
      await yieldStep();
    }
  } finally {
    cache.dispose();
  }
  return { ids, stopReason, promptTokens: promptIds.length, prefillMs, decodeMs, decodeSteps, kvLocation };
}
