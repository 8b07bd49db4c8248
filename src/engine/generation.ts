/**
 * Text generation: the decode loop (src/model/generate.ts) with an adapter's LoRA inputs (or the base
 * model's zero inputs), the text each token adds (byte-level BPE pieces, an incomplete UTF-8
 * character held back until it completes), stop strings, and the result with its measured speeds.
 */
import { BadRequestError } from '../model/errors';
import { decode } from '../model/generate';
import type { Loaded, SessionLock } from './session';
import type { GenerateOptions, GenerateResult, TokenEvent } from './types';

/** Generates from prompt token ids on the loaded session, streaming tokens through `onToken`; holds the session while it runs. */
export async function generateIds(
  loaded: Loaded, lock: SessionLock, promptIds: number[], options: GenerateOptions, onToken?: (t: TokenEvent) => void,
): Promise<GenerateResult> {
  const { model, tokenizer, registry, info } = loaded;
  lock.checkFree();
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) throw new BadRequestError(`maxTokens must be a positive integer, got ${options.maxTokens}`);
  if (promptIds.length === 0) throw new BadRequestError('The prompt is empty: there is nothing to continue.');
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= info.vocabSize) throw new BadRequestError(`Token id ${id} is outside the vocabulary (0-${info.vocabSize - 1}).`);
  }
  const loraFeeds = registry.feeds(options.adapter);
  return lock.whileBusy(null, async (cancel) => {
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    const ids: number[] = [];
    let text = '';
    let settled = 0;
    let stopAt = -1;
    const result = await decode(model, promptIds, {
      loraFeeds,
      maxTokens: options.maxTokens,
      stopIds: new Set(options.stopIds ?? info.stopIds),
      ...(options.sampling ? { sampling: options.sampling } : {}),
      cancel,
      onToken: (id, index) => {
        ids.push(id);
        // Decode only the ids since the last complete character (byte-level BPE: the text of a
        // sequence is the concatenation of its pieces), so a step costs the same at token 500 as
        // at token 5. A piece ending in an incomplete UTF-8 sequence (U+FFFD) waits for the next id.
        const piece = tokenizer.decode(ids.slice(settled), true);
        let delta = '';
        if (!piece.endsWith('\uFFFD')) {
          delta = piece;
          text += piece;
          settled = ids.length;
        }
        let stopped = false;
        for (const s of stops) {
          const at = text.indexOf(s);
          if (at >= 0) {
            stopAt = stopAt < 0 ? at : Math.min(stopAt, at);
            stopped = true;
          }
        }
        if (stopped) {
          const before = text.length - delta.length;
          delta = delta.slice(0, Math.max(0, stopAt - before));
        }
        onToken?.({ id, index, text: delta });
        return stopped;
      },
    });
    const finalText = stopAt >= 0 ? tokenizer.decode(result.ids, true).slice(0, stopAt) : tokenizer.decode(result.ids, true);
    const tokensPerSecond = result.decodeSteps > 0 ? result.decodeSteps / (result.decodeMs / 1000) : 0;
    return {
      ids: result.ids, text: finalText, stopReason: result.stopReason, promptTokens: result.promptTokens, tokensPerSecond,
      prefillMs: result.prefillMs, decodeMs: result.decodeMs, decodeSteps: result.decodeSteps, adapter: options.adapter,
      backend: model.backend, kvLocation: result.kvLocation,
    };
  });
}
