// The prompt the Evaluate screen tokenizes must be the tokenizer's own chat template (the one the
// engine's `chat: true` and the trainer's evaluation use), with and without a system prompt.
import { beforeAll, describe, expect, it } from 'vitest';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { loadBaseTokenizer } from '../setup/baseTokenizer';
import { renderChatPrompt } from '../../src/evaluate/scoring';

let tokenizer: PreTrainedTokenizer;

beforeAll(async () => {
  tokenizer = await loadBaseTokenizer();
});

describe('renderChatPrompt', () => {
  const cases = [
    { prompt: 'Is the sky blue?\nA: yes\nB: no', system: undefined },
    { prompt: 'Solve: 12 * 3', system: 'You are a careful math tutor. End with "The answer is N".' },
    { prompt: 'Empty system prompt', system: '' },
  ];
  for (const c of cases) {
    it(`equals apply_chat_template (${c.system ? 'with' : 'without'} a system prompt)`, () => {
      const messages = [...(c.system ? [{ role: 'system', content: c.system }] : []), { role: 'user', content: c.prompt }];
      const text = tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }) as string;
      expect(renderChatPrompt(c.prompt, c.system)).toBe(text);
      // The same call as the engine's encodeChat (src/model/tokenizer.ts).
      const raw = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: true, return_tensor: false, return_dict: false });
      const ids = Array.from(raw as unknown as ArrayLike<number | bigint>, (v) => Number(v));
      expect(ids.length).toBeGreaterThan(5);
      // The engine's tokenize(): encode without added special tokens; the ChatML markers are single ids.
      expect(tokenizer.encode(renderChatPrompt(c.prompt, c.system), { add_special_tokens: false })).toEqual(ids);
    });
  }
  it('stops at the ids the trainer stops at', () => {
    expect(tokenizer.encode('<|im_end|>', { add_special_tokens: false })).toEqual([2]);
    expect(tokenizer.encode('<|endoftext|>', { add_special_tokens: false })).toEqual([0]);
  });
});
