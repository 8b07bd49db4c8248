/**
 * The prompt encoder on the model's own session: the web graphs return the final RMSNorm output
 * of every position (`last_hidden_state`) beside the logits, so encoding a batch of prompts is one
 * first step (empty past) over the right-padded batch with the base model's LoRA inputs (all zero),
 * fetching only that output (src/model/encoder.ts groups the P prompts into batches of similar length). trainer/generator/conditions.py computes the same (layer -1, no pooling); src/model/encoder.ts
 * does the tokenizing, padding and cutting.
 */
import type { EncoderRun } from './encoder';
import { KvCache } from './kvCache';
import { ort, type ModelSession } from './session';

export function hiddenStatesRun(model: ModelSession, baseLoraFeeds: () => Record<string, ort.Tensor>): EncoderRun {
  return async (inputIds, attentionMask, batch, seq) => {
    const past = new KvCache(model.info.config, model.kvType, batch);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [batch, seq]),
      attention_mask: new ort.Tensor('int64', attentionMask, [batch, seq]),
      ...past.feeds(),
      ...baseLoraFeeds(),
    };
    const out = await model.session.run(feeds, ['last_hidden_state']);
    const hidden = out.last_hidden_state;
    if (!hidden) throw new Error('the model graph has no last_hidden_state output');
    try {
      const data = hidden.location === 'cpu' ? hidden.data : await hidden.getData();
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    } finally {
      hidden.dispose();
    }
  };
}
