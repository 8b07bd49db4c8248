/**
 * The Evaluate run: the first N items of a prompt set that carry a response, each answered by the
 * base model and then by one adapter (greedy, through the page's one engine), each answer scored
 * (src/evaluate/scoring.ts). The run lives here, not in the screen, so its results survive tab
 * switches; Stop cancels the engine's current generation (it ends before its next step) and keeps
 * every item already scored.
 */
import { create } from 'zustand';
import { withoutRows, type AnsweredRow } from '../prompts/answered';
import type { PromptRecord } from '../prompts/types';
import type { GenerateResult } from '../worker/engineClient';
import { getEngineClient, readableError, type ReadableError } from './engine';
import {
  MAX_PROMPT_TOKENS, accuracyOf, detectScoringKind, renderChatPrompt, scoreAnswer, type Accuracy, type ItemScore, type ScoringPlan,
} from '../evaluate/scoring';

export type SideName = 'base' | 'adapted';

export interface SideAnswer {
  text: string;
  score: ItemScore;
  tokens: number;
  stopReason: GenerateResult['stopReason'];
}

export interface EvaluationItem {
  /** Position among the set's items that have a response (0-based). */
  index: number;
  prompt: string;
  system?: string;
  reference: string;
  base: SideAnswer | null;
  adapted: SideAnswer | null;
}

export type RunStatus = 'running' | 'stopping' | 'done' | 'stopped' | 'error';

export interface EvaluationRun {
  setId: string;
  setName: string;
  adapterId: string;
  adapterName: string;
  plan: ScoringPlan;
  maxTokens: number;
  /** Rows with a response left out because they were in the adapter's condition (examples mode): their prompts. */
  excluded: string[];
  items: EvaluationItem[];
  status: RunStatus;
  /** The item and side being generated, while running. */
  current: { item: number; side: SideName } | null;
  error: ReadableError | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface EvaluationStart {
  setId: string;
  setName: string;
  records: readonly PromptRecord[];
  count: number;
  adapterId: string;
  adapterName: string;
  maxTokens: number;
  /** Rows never to score: the adapter's condition in examples mode (matched by prompt and response). */
  exclude?: readonly AnsweredRow[];
}

interface EvaluationState {
  run: EvaluationRun | null;
  /** Why the last Run failed before any answer was scored (the earlier results stay shown). */
  startError: ReadableError | null;
}

export const useEvaluation = create<EvaluationState>()(() => ({ run: null, startError: null }));

/** The records that can be scored: those with a non-blank reference response. */
export function scorableRecords(records: readonly PromptRecord[]): PromptRecord[] {
  return records.filter((r) => typeof r.response === 'string' && r.response.trim() !== '');
}

/**
 * The records that can be scored for an adapter: those with a response, less the rows in the adapter's
 * condition (examples mode), which would flatter it.
 */
export function scorableFor(records: readonly PromptRecord[], exclude: readonly AnsweredRow[] = []): { kept: PromptRecord[]; excluded: PromptRecord[] } {
  return withoutRows(scorableRecords(records), exclude);
}

/** The set's scoring plan, from all its responses (not just the N evaluated). */
export function planFor(records: readonly PromptRecord[]): ScoringPlan {
  return detectScoringKind(scorableRecords(records).map((r) => r.response!));
}

function patch(fn: (run: EvaluationRun) => Partial<EvaluationRun>): void {
  useEvaluation.setState((state) => (state.run ? { run: { ...state.run, ...fn(state.run) } } : state));
}

function setAnswer(item: number, side: SideName, answer: SideAnswer): void {
  patch((run) => ({ items: run.items.map((it, i) => (i === item ? { ...it, [side]: answer } : it)) }));
}

let stopRequested = false;

export function isRunning(run: EvaluationRun | null): boolean {
  return run?.status === 'running' || run?.status === 'stopping';
}

/** Runs the evaluation to the end, to Stop, or to the first engine error; never throws. */
export async function startEvaluation(start: EvaluationStart): Promise<void> {
  const previous = useEvaluation.getState().run;
  if (isRunning(previous)) return;
  const plan = planFor(start.records);
  const { kept, excluded } = scorableFor(start.records, start.exclude);
  const items: EvaluationItem[] = kept
    .slice(0, Math.max(0, start.count))
    .map((r, index) => ({ index, prompt: r.prompt, ...(r.system ? { system: r.system } : {}), reference: r.response!, base: null, adapted: null }));
  stopRequested = false;
  useEvaluation.setState({
    startError: null,
    run: {
      setId: start.setId,
      setName: start.setName,
      adapterId: start.adapterId,
      adapterName: start.adapterName,
      plan,
      maxTokens: start.maxTokens,
      excluded: excluded.map((r) => r.prompt),
      items,
      status: 'running',
      current: null,
      error: null,
      startedAt: Date.now(),
      finishedAt: null,
    },
  });
  const client = getEngineClient();
  const finish = (status: RunStatus, error: ReadableError | null = null) =>
    patch(() => ({ status, error, current: null, finishedAt: Date.now() }));
  try {
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      // The trainer's prompt: chat template with the system turn, last MAX_PROMPT_TOKENS tokens kept.
      const ids = (await client.tokenize(renderChatPrompt(item.prompt, item.system))).slice(-MAX_PROMPT_TOKENS);
      for (const side of ['base', 'adapted'] as const) {
        if (stopRequested) return finish('stopped');
        patch(() => ({ current: { item: i, side } }));
        const result = await client.generateIds(ids, { adapter: side === 'base' ? null : start.adapterId, maxTokens: start.maxTokens });
        // A cancelled answer is cut short: not scored, the item stays partial.
        if (result.stopReason === 'cancelled') return finish('stopped');
        setAnswer(i, side, {
          text: result.text,
          score: scoreAnswer(plan, { prompt: item.prompt, response: item.reference }, result.text),
          tokens: result.ids.length,
          stopReason: result.stopReason,
        });
      }
    }
    finish(stopRequested ? 'stopped' : 'done');
  } catch (error) {
    const readable = readableError(error);
    const nothingScored = !useEvaluation.getState().run?.items.some((it) => it.base || it.adapted);
    if (readable.code === 'cancelled') finish('stopped');
    // Refused at once (e.g. the engine is busy with Compare): keep the earlier results, not an empty run.
    else if (nothingScored) useEvaluation.setState({ run: previous, startError: readable });
    else finish('error', readable);
  }
}

/** Stops before the next generation step; the items already scored stay. */
export function stopEvaluation(): void {
  if (!isRunning(useEvaluation.getState().run)) return;
  stopRequested = true;
  patch(() => ({ status: 'stopping' }));
  void getEngineClient().cancel();
}

export function clearEvaluation(): void {
  if (isRunning(useEvaluation.getState().run)) return;
  useEvaluation.setState({ run: null, startError: null });
}

export interface RunSummary {
  /** Items answered by both sides: the ones the accuracies are computed on. */
  complete: EvaluationItem[];
  base: Accuracy;
  adapted: Accuracy;
  /** Items only the adapter got right / only the base got right (paired view of the same items). */
  adapterOnly: number;
  baseOnly: number;
  baseDone: number;
  adaptedDone: number;
}

export function summarize(run: EvaluationRun): RunSummary {
  const complete = run.items.filter((it) => it.base && it.adapted);
  return {
    complete,
    base: accuracyOf(complete.map((it) => it.base!.score.ok)),
    adapted: accuracyOf(complete.map((it) => it.adapted!.score.ok)),
    adapterOnly: complete.filter((it) => it.adapted!.score.ok && !it.base!.score.ok).length,
    baseOnly: complete.filter((it) => it.base!.score.ok && !it.adapted!.score.ok).length,
    baseDone: run.items.filter((it) => it.base).length,
    adaptedDone: run.items.filter((it) => it.adapted).length,
  };
}
