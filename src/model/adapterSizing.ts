/**
 * How strongly a generated adapter is applied: every B is multiplied by a strength in [0, 1] chosen
 * after the generator has run and before the adapter is registered.
 *
 * - Prompts mode with a version-2 gate (src/generator/gate.ts): the kNN gate's value g. Its query is
 *   the condition, the decoder's output, or (feature "answer") what the base model and the adapter at
 *   scale 1 do with the prompts (src/model/answerFeatures.ts), which needs the model: that is the
 *   "gate" stage.
 * - Examples mode: the validation gate (src/model/validationGate.ts) on answered rows not in the
 *   condition (or, when the set has none, the condition's own rows, an optimistic choice).
 * - Otherwise (no gate): 1, the adapter as generated.
 */
import { gateForRun, type GateResult } from '../generator/gate';
import { MAX_PROMPT_TOKENS } from '../evaluate/scoring';
import type { AdapterRegistry, AdapterData } from './adapters';
import { measureAnswerFeatures, type AnswerFeatureResult } from './answerFeatures';
import type { CancelToken } from './generate';
import type { GeneratorHandle, RawGeneratedAdapter } from './generatedAdapter';
import type { ModelSession } from './session';
import { chooseScale, scoringRow, validationNll, type AnsweredRow, type ValidationGateResult } from './validationGate';
import { BadRequestError } from './errors';

/** What the adapter was made from, and so how it is sized. */
export type SizingRequest =
  /** P prompts (null: a condition given directly, with no prompts to measure answers on). */
  | { mode: 'prompts'; prompts: string[] | null }
  /** P answered rows in the condition, and the answered rows set aside to validate on. */
  | { mode: 'examples'; condition: AnsweredRow[]; validation: AnsweredRow[] };

export interface SizingContext {
  handle: GeneratorHandle;
  model: ModelSession;
  registry: AdapterRegistry;
  encode: (text: string) => number[];
  /** The `<|im_end|>` id that closes a scored response. */
  imEnd: number;
  cancel: CancelToken;
}

export interface Sizing {
  /** Every B times this. */
  strength: number;
  /** Prompts mode with a kNN gate: its value and nearest tasks. */
  gate: GateResult | null;
  /** Feature "answer": what was measured. */
  answer: AnswerFeatureResult | null;
  /** Examples mode: the validation gate. */
  validation: ValidationGateResult | null;
}

/** Whether sizing runs the base model (a stage of its own on the screen): the answer gate or examples mode. */
export function sizingRunsModel(handle: GeneratorHandle, request: SizingRequest): boolean {
  return request.mode === 'examples' || handle.loaded.gate?.feature === 'answer';
}

/** The strength of a generated adapter (not yet registered) for this request. */
export async function sizeAdapter(ctx: SizingContext, raw: RawGeneratedAdapter, condition: Float32Array, request: SizingRequest): Promise<Sizing> {
  if (request.mode === 'examples') {
    const validation = await validationGate(ctx, raw.data, request.condition, request.validation);
    return { strength: validation.value, gate: null, answer: null, validation };
  }
  const { loaded } = ctx.handle;
  if (!loaded.gate) return { strength: 1, gate: null, answer: null, validation: null };
  let answer: AnswerFeatureResult | null = null;
  const prompts = request.prompts;
  const gate = await gateForRun(loaded.gate, loaded.manifest, {
    condition,
    decoderOutput: raw.decoderOutput,
    answer: async () => {
      const settings = loaded.manifest.gate?.answer;
      if (!settings) throw new BadRequestError('The generator\'s gate reads answers but its manifest gives no gate.answer settings.');
      if (!prompts) throw new BadRequestError('This generator\'s gate measures how the model answers the prompts, so it needs the prompts, not only their condition.');
      answer = await ctx.registry.withFeeds(raw.data, 1, (adapted) =>
        measureAnswerFeatures(ctx.model, ctx.encode, prompts, { base: ctx.registry.feeds(null), adapted },
          { tokens: settings.tokens, maxPromptTokens: settings.max_prompt_tokens }, ctx.cancel));
      return answer.values;
    },
  });
  return { strength: gate.value, gate, answer, validation: null };
}

async function validationGate(ctx: SizingContext, data: AdapterData, condition: AnsweredRow[], validation: AnsweredRow[]): Promise<ValidationGateResult> {
  const spec = ctx.handle.loaded.manifest.examples;
  if (!spec) throw new BadRequestError('This generator does not read answers: its manifest has no examples section.');
  const source = validation.length > 0 ? 'held-out' : 'condition';
  const rows = (source === 'held-out' ? validation : condition).map((r) => scoringRow(ctx.encode, ctx.imEnd, r, MAX_PROMPT_TOKENS));
  const { nll, tokens } = await validationNll(ctx.model, rows, spec.grid, (scale, use) => ctx.registry.withFeeds(data, scale, use), ctx.cancel);
  return { value: chooseScale(spec.grid, nll), grid: [...spec.grid], nll, rows: rows.length, tokens, source };
}
