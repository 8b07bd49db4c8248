/**
 * The base model's tokenizer, loaded by transformers.js from the files served beside the model
 * (tokenizer.json, tokenizer_config.json with the ChatML chat template) — the same files and library
 * the trainer's tokenizer fixture checks (test/tokenizer.test.ts). Never fetched from a hub.
 */
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { TokenizerLoadError, describeError } from './errors';
import type { ByteProgress } from './session';

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

/**
 * @param modelsUrl URL of the folder holding the model folder (e.g. `/models/`)
 * @param modelId the model folder's name (e.g. `base`)
 */
export async function loadTokenizer(modelsUrl: string, modelId: string, onProgress?: (p: ByteProgress) => void): Promise<Tokenizer> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  // transformers.js joins paths with a helper that breaks `http://`; give it the same-origin path.
  const url = new URL(modelsUrl.endsWith('/') ? modelsUrl : `${modelsUrl}/`, globalThis.location?.href);
  env.localModelPath = globalThis.location && url.origin === globalThis.location.origin ? url.pathname : url.href;
  env.useBrowserCache = false;
  let raw: PreTrainedTokenizer;
  try {
    raw = await AutoTokenizer.from_pretrained(modelId, {
      progress_callback: (info: unknown) => {
        const p = info as { status?: string; file?: string; loaded?: number; total?: number };
        if (p.status === 'progress' && p.file) onProgress?.({ file: p.file, loaded: p.loaded ?? 0, total: p.total ?? 0 });
      },
    });
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
