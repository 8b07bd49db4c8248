// transformers.js must tokenize exactly like the Python tokenizer that trained models/base.
// Fixture: test/fixtures/tokenizer/cases.json, written by `python -m trainer tokenizer-fixture`
// (also by `python -m trainer base`) with transformers' AutoTokenizer on the same files.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { loadBaseTokenizer } from './setup/baseTokenizer';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface TextCase {
  text: string;
  ids: number[];
  decoded: string;
  decoded_skip_special: string;
}
interface ChatCase {
  messages: { role: string; content: string }[];
  add_generation_prompt: boolean;
  text: string;
  ids: number[];
}
interface Fixture {
  cases: TextCase[];
  chats: ChatCase[];
}

const fixture: Fixture = JSON.parse(
  readFileSync(resolve(root, 'test/fixtures/tokenizer/cases.json'), 'utf8'),
);

let tokenizer: PreTrainedTokenizer;

beforeAll(async () => {
  tokenizer = await loadBaseTokenizer();
});

describe('models/base tokenizer in transformers.js', () => {
  it('fixture has at least 50 strings and some chats', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(50);
    expect(fixture.chats.length).toBeGreaterThan(0);
  });

  it('has the ChatML special tokens', () => {
    for (const t of ['<|endoftext|>', '<|im_start|>', '<|im_end|>']) {
      const ids = tokenizer.encode(t);
      expect(ids.length, t).toBe(1);
    }
  });

  it('encodes every string like Python', () => {
    for (const c of fixture.cases) {
      expect(tokenizer.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
    }
  });

  it('decodes every string like Python', () => {
    for (const c of fixture.cases) {
      if (c.ids.length === 0) {
        // transformers.js refuses to decode an empty id list; Python gives ''.
        expect(c.decoded).toBe('');
        continue;
      }
      expect(tokenizer.decode(c.ids, { skip_special_tokens: false }), JSON.stringify(c.text)).toBe(
        c.decoded,
      );
      expect(tokenizer.decode(c.ids, { skip_special_tokens: true }), JSON.stringify(c.text)).toBe(
        c.decoded_skip_special,
      );
    }
  });

  it('renders and tokenizes the chat template like Python', () => {
    for (const c of fixture.chats) {
      const text = tokenizer.apply_chat_template(c.messages, {
        tokenize: false,
        add_generation_prompt: c.add_generation_prompt,
      });
      expect(text).toBe(c.text);
      const ids = tokenizer.apply_chat_template(c.messages, {
        tokenize: true,
        add_generation_prompt: c.add_generation_prompt,
        return_tensor: false,
        return_dict: false,
      });
      expect(Array.from(ids as unknown as number[])).toEqual(c.ids);
    }
  });
});
