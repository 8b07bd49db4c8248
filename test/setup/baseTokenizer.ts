import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The committed models/base tokenizer through transformers.js, from disk only (never the Hub). */
export async function loadBaseTokenizer(): Promise<PreTrainedTokenizer> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${ROOT}/`;
  return AutoTokenizer.from_pretrained('models/base');
}
