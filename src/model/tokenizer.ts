/**
 * The base model's tokenizer: transformers.js's tokenizer built from the files served beside the
 * model (tokenizer.json, tokenizer_config.json with the ChatML chat template), which the engine
 * fetches itself (through the model cache, src/model/modelCache.ts) — the same files and library
 * the trainer's tokenizer fixture checks (test/tokenizer.test.ts). Never fetched from a hub.
 */
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { TokenizerLoadError, describeError } from './errors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Tokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[], skipSpecial?: boolean): string;
  /** ChatML prompt ids, with the assistant generation prompt appended. */
  encodeChat(messages: readonly ChatMessage[]): number[];
  readonly raw: PreTrainedTokenizer;
}

/** The tokenizer from the bytes of tokenizer.json and tokenizer_config.json. */
export function tokenizerFromFiles(tokenizerJson: Uint8Array, tokenizerConfig: Uint8Array): Tokenizer {
  let raw: PreTrainedTokenizer;
  try {
    const decode = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as object;
    // what AutoTokenizer does for tokenizer_class "PreTrainedTokenizerFast": the base class
    raw = new PreTrainedTokenizer(decode(tokenizerJson), decode(tokenizerConfig));
  } catch (e) {
    throw new TokenizerLoadError(describeError(e), e);
  }
  return {
    raw,
    encode: (text) => raw.encode(text, { add_special_tokens: false }),
    decode: (ids, skipSpecial = false) => (ids.length === 0 ? '' : raw.decode([...ids], { skip_special_tokens: skipSpecial })),
    encodeChat: (messages) => {
      const ids = raw.apply_chat_template(messages.map((m) => ({ ...m })), { add_generation_prompt: true, tokenize: true, return_tensor: false, return_dict: false });
      return Array.from(ids as unknown as ArrayLike<number | bigint>, (v) => Number(v));
    },
  };
}
