/**
 * One adapter generation as the Generate screen shows it: the stage list (encode, each decoder
 * block with its heatmap, detokenise, the gate when it runs the model, apply) filled in from the
 * engine's stage events with their measured times, cancel, step-through (the engine really pauses
 * after each block), and what happens after success (saved for reloads, chosen for Compare,
 * renamable). Two modes: prompts (P prompts of the set) and examples (P answered rows, sized by the
 * validation gate on other answered rows; "Use the answers", default on when the generator and the
 * set allow it).
 */
import { create } from 'zustand';
import type { Heatmap } from '../generator/runtime';
import type { AnsweredRow } from '../prompts/answered';
import type { Backend, ConditionMode, GenerateAdapterStage, GeneratedAdapterSummary, GeneratorInfo } from '../worker/engineClient';
import { getEngineClient, persistGeneratedAdapter, readableError, refreshAdapters, renameAdapter, useEngine, type ReadableError } from './engine';
import { useNavigation } from './navigation';

export type StageState = 'pending' | 'running' | 'done';

export interface StageRow {
  /** 'encode', 'block-{i}', 'detokenize', 'gate' or 'apply'. */
  key: string;
  label: string;
  state: StageState;
  /** Measured by the engine; null until the stage is done. */
  ms: number | null;
  /** The block's output (down-sampled), for decoder blocks once done. */
  snapshot: Heatmap | null;
  layer: number | null;
}

/** How long the last run took, each figure named where it is shown (src/ui/generate/blockText.ts `runTimeText`). */
export interface RunTiming {
  /** The stages' own times added up, each as the engine measured it (the stage list shows them). */
  stagesMs: number;
  /**
   * From pressing Generate until the adapter was listed: the stages, the worker's messages around them
   * and the adapter list's refresh. Null when the run paused (step-through): the pauses are the person's.
   */
  wallMs: number | null;
}

export type GenerationStatus = 'idle' | 'running' | 'paused' | 'cancelling' | 'cancelled' | 'done' | 'error';

interface GenerationState {
  status: GenerationStatus;
  stages: StageRow[];
  error: ReadableError | null;
  /** Pause after each decoder block (read when a run starts; "Run to end" ends the pauses of that run only). */
  stepThrough: boolean;
  /** The block the engine waits after, in step-through mode. */
  pausedLayer: number | null;
  /**
   * The name typed for the next run, tied to the prompt set it was typed for: choosing another set
   * shows that set's default again. Null: the default (adapterNameFor). Never renames a result.
   */
  nameDraft: { setId: string; name: string } | null;
  /** The last generated adapter, with the gate's strength (version-2 generators). */
  adapter: GeneratedAdapterSummary | null;
  /** The prompt set the last run used. */
  promptSetName: string | null;
  /** Examples mode of the last run: the answered rows in its condition (null in prompts mode). */
  conditionRows: AnsweredRow[] | null;
  /**
   * "Use the answers" as chosen for a set (null: the default, on whenever examples mode is offered);
   * tied to the set it was chosen for.
   */
  answersChoice: { setId: string; on: boolean } | null;
  /** How many of the last run's prompts were repeats, filling a set smaller than P (0 otherwise). */
  repeated: number;
  /** The last successful run's times; null until one is done. */
  timing: RunTiming | null;
  /**
   * Where the model ran for the last run (the apply stage says what happened there), taken when the
   * run starts: loading the model elsewhere later does not rewrite that run's stages. Null: not known.
   */
  runBackend: Backend | null;
  /** Saving the adapter for the next visit failed (it still works now). */
  saveError: ReadableError | null;
  renameError: ReadableError | null;
  generatorInfo: GeneratorInfo | null;
}

export const useGeneration = create<GenerationState>()(() => ({
  status: 'idle',
  stages: [],
  error: null,
  stepThrough: false,
  pausedLayer: null,
  nameDraft: null,
  adapter: null,
  promptSetName: null,
  conditionRows: null,
  answersChoice: null,
  repeated: 0,
  timing: null,
  runBackend: null,
  saveError: null,
  renameError: null,
  generatorInfo: null,
}));

/**
 * "arc-easy.jsonl" -> "arc-easy (generated)"; when that name is taken, "arc-easy (generated 2)",
 * "arc-easy (generated 3)" ... so every run's adapter has a name of its own.
 */
export function defaultAdapterName(promptSetName: string, taken: readonly string[] = []): string {
  const base = promptSetName.replace(/\.(jsonl|ndjson|json|csv|tsv|tab|txt|text|md)$/i, '').trim() || 'prompts';
  const names = new Set(taken);
  for (let n = 1; ; n++) {
    const name = n === 1 ? `${base} (generated)` : `${base} (generated ${n})`;
    if (!names.has(name)) return name;
  }
}

/** A typed name made unique the same way: "tutor", then "tutor 2", "tutor 3" ... */
export function uniqueAdapterName(name: string, taken: readonly string[]): string {
  const names = new Set(taken);
  if (!names.has(name)) return name;
  for (let n = 2; ; n++) if (!names.has(`${name} ${n}`)) return `${name} ${n}`;
}

/** The name the next run of this set will get: what was typed for it, else the set's default. */
export function nextAdapterName(draft: GenerationState['nameDraft'], promptSet: { id: string; name: string }, taken: readonly string[]): string {
  const typed = draft?.setId === promptSet.id ? draft.name.trim() : '';
  return typed ? uniqueAdapterName(typed, taken) : defaultAdapterName(promptSet.name, taken);
}

export function isActive(status: GenerationStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'cancelling';
}

/** Whether a run in this mode has a 'gate' stage (sizing runs the model: examples mode's validation, or an answer gate). */
export function hasGateStage(info: Pick<GeneratorInfo, 'gateFeature'>, mode: ConditionMode): boolean {
  return mode === 'examples' || info.gateFeature === 'answer';
}

export function stageRows(info: GeneratorInfo, mode: ConditionMode = 'prompts'): StageRow[] {
  const row = (key: string, label: string, layer: number | null = null): StageRow => ({ key, label, state: 'pending', ms: null, snapshot: null, layer });
  return [
    row('encode', mode === 'examples' ? `Encode ${info.promptCount} prompts with their answers` : `Encode ${info.promptCount} prompts`),
    ...info.blocks.map((b) => row(`block-${b.index}`, `Decoder block ${b.index}`, b.index)),
    row('detokenize', 'Detokenise'),
    ...(hasGateStage(info, mode) ? [row('gate', mode === 'examples' ? 'Validate on your other answers' : 'Measure how the model answers')] : []),
    row('apply', 'Apply to the model'),
  ];
}

function keyOf(event: GenerateAdapterStage): string | null {
  if (event.stage === 'encode' || event.stage === 'detokenize' || event.stage === 'gate' || event.stage === 'apply') return event.stage;
  if (event.layer !== null) return `block-${event.layer}`;
  return null;
}

/** The stage list after an event: that stage done with its time (and heatmap), the next one running unless paused. */
export function applyStage(stages: readonly StageRow[], event: GenerateAdapterStage): StageRow[] {
  const key = keyOf(event);
  const at = stages.findIndex((s) => s.key === key);
  if (at < 0) return [...stages];
  return stages.map((s, i) => {
    if (i === at) return { ...s, state: 'done', ms: event.ms, snapshot: event.snapshot ?? s.snapshot };
    if (i === at + 1 && !event.paused && s.state === 'pending') return { ...s, state: 'running' };
    return s;
  });
}

/** The stages' measured times added up (a stage not done counts nothing). */
export function stagesTotal(stages: readonly Pick<StageRow, 'ms'>[]): number {
  return stages.reduce((sum, s) => sum + (s.ms ?? 0), 0);
}

/** Marks the stage after the last finished one as running (after a step-through pause ends). */
function resumeStages(stages: readonly StageRow[]): StageRow[] {
  const next = stages.findIndex((s) => s.state === 'pending');
  return stages.map((s, i) => (i === next ? { ...s, state: 'running' } : s));
}

export async function loadGeneratorInfo(): Promise<GeneratorInfo | null> {
  try {
    const info = await getEngineClient().generatorInfo();
    useGeneration.setState({ generatorInfo: info });
    return info;
  } catch {
    return null;
  }
}

/** Each run has an id, so events of a run that ended (e.g. cancelled) cannot touch the next one. */
let runId = 0;
/** Saving the last generated adapter to IndexedDB; a rename waits for it so the saved copy is renamed too. */
let persisting: Promise<unknown> = Promise.resolve();

export interface GenerationInput {
  /** Exactly P prompts (a short set filled by sampling with replacement: src/prompts sampleBatch). */
  prompts: string[];
  promptSet: { id: string; name: string };
  /** How many of `prompts` are repeats. */
  repeated: number;
  /**
   * Examples mode (src/prompts/answered.ts `drawExamples`): P answered rows for the condition and the
   * other answered rows for the validation gate; absent: prompts mode.
   */
  examples?: { condition: AnsweredRow[]; validation: AnsweredRow[] };
}

/** Generates an adapter from the P prompts (or answered rows) of a set; its name is the draft for that set or the set's default. */
export async function startGeneration({ prompts, promptSet, repeated, examples }: GenerationInput): Promise<void> {
  if (isActive(useGeneration.getState().status)) return;
  const id = ++runId;
  const started = performance.now();
  const { nameDraft, stepThrough } = useGeneration.getState();
  const name = nextAdapterName(nameDraft, promptSet, useEngine.getState().adapters.map((a) => a.name));
  const promptSetName = promptSet.name;
  const mode: ConditionMode = examples ? 'examples' : 'prompts';
  useGeneration.setState({
    status: 'running', error: null, adapter: null, pausedLayer: null, timing: null, runBackend: useEngine.getState().info?.backend ?? null,
    saveError: null, renameError: null, promptSetName,
    repeated: examples ? 0 : repeated, conditionRows: examples ? examples.condition : null, stages: [],
  });
  const info = useGeneration.getState().generatorInfo ?? (await loadGeneratorInfo());
  if (id !== runId) return;
  const rows = info ? stageRows(info, mode) : [];
  useGeneration.setState({ stages: rows.map((s, i) => (i === 0 ? { ...s, state: 'running' } : s)) });
  let paused = false;
  const onStage = (event: GenerateAdapterStage) => {
    if (id !== runId) return;
    if (event.paused) paused = true;
    useGeneration.setState((state) => ({
      stages: applyStage(state.stages, event),
      ...(event.paused && state.status === 'running' ? { status: 'paused' as const, pausedLayer: event.layer } : {}),
    }));
  };
  try {
    const client = getEngineClient();
    const adapter = examples
      ? await client.generateAdapterFromExamples(examples.condition, examples.validation, name, onStage, { stepThrough })
      : await client.generateAdapter(prompts, name, onStage, { stepThrough });
    if (id !== runId) return;
    // The list first, so the result card finds its row at once (not a moment of "no longer loaded").
    await refreshAdapters().catch(() => undefined);
    if (id !== runId) return;
    // The draft was this run's name: the next run starts from the set's (next) default again.
    const wallMs = performance.now() - started;
    useGeneration.setState((state) => ({
      status: 'done', adapter, nameDraft: null, pausedLayer: null,
      timing: { stagesMs: stagesTotal(state.stages), wallMs: paused ? null : wallMs },
    }));
    // Chosen on the Compare tab right away; saved so it survives a reload.
    useNavigation.getState().selectAdapter(adapter.id);
    const saved = persistGeneratedAdapter(adapter, { id: promptSet.id, name: promptSetName }, examples ? {
      mode: 'examples', condition: examples.condition, ...(adapter.validation?.source === 'held-out' ? { validationRows: examples.validation } : {}),
      ...(adapter.validation ? { validation: { value: adapter.validation.value, rows: adapter.validation.rows, source: adapter.validation.source } } : {}),
    } : { mode: 'prompts' });
    persisting = saved;
    const saveError = await saved;
    if (id === runId) useGeneration.setState({ saveError });
  } catch (error) {
    if (id !== runId) return;
    const readable = readableError(error);
    const cancelled = readable.code === 'cancelled';
    useGeneration.setState((state) => ({
      status: cancelled ? 'cancelled' : 'error',
      error: cancelled ? null : readable,
      pausedLayer: null,
      // a stage that was running when the run stopped did not finish
      stages: state.stages.map((s) => (s.state === 'running' ? { ...s, state: 'pending' } : s)),
    }));
    await refreshAdapters().catch(() => undefined);
  }
}

/** Stops the run before its next stage; nothing is registered. */
export async function cancelGeneration(): Promise<void> {
  if (!isActive(useGeneration.getState().status)) return;
  useGeneration.setState({ status: 'cancelling' });
  await getEngineClient().cancelAdapterGeneration();
}

/** Step-through: go on to the next block's pause, or to the end without pausing again. */
export async function continueGeneration(mode: 'next' | 'to-end'): Promise<void> {
  if (useGeneration.getState().status !== 'paused') return;
  useGeneration.setState((state) => ({
    status: 'running', pausedLayer: null, stages: resumeStages(state.stages),
  }));
  await getEngineClient().continueAdapterGeneration(mode);
}

/** "Use the answers" for the set `setId` (examples mode on or off for its next runs). */
export function setUseAnswers(setId: string, on: boolean): void {
  useGeneration.setState({ answersChoice: { setId, on } });
}

/** Whether the next run of the set uses its answers: the choice made for it, else on when offered. */
export function useAnswersFor(choice: GenerationState['answersChoice'], setId: string, offered: boolean): boolean {
  if (!offered) return false;
  return choice?.setId === setId ? choice.on : true;
}

export function setStepThrough(on: boolean): void {
  useGeneration.setState({ stepThrough: on });
}

/** The name for the next run of the set `setId` (never a rename of an adapter already made). */
export function setNameDraft(setId: string, name: string): void {
  useGeneration.setState({ nameDraft: { setId, name } });
}

/** Renames the last run's adapter (engine and saved copy); false when the rename was refused. */
export async function renameResult(name: string): Promise<boolean> {
  const { adapter } = useGeneration.getState();
  const trimmed = name.trim();
  if (!adapter || trimmed === adapter.name) return true;
  await persisting;
  const error = await renameAdapter(adapter.id, trimmed);
  useGeneration.setState((state) => ({
    renameError: error,
    adapter: !error && state.adapter?.id === adapter.id ? { ...state.adapter, name: trimmed } : state.adapter,
  }));
  return error === null;
}

/** Forgets the last result (after its adapter was removed elsewhere, or to start over). */
export function resetGeneration(): void {
  runId++;
  useGeneration.setState({
    status: 'idle', stages: [], error: null, adapter: null, pausedLayer: null, timing: null, runBackend: null, saveError: null, nameDraft: null, repeated: 0,
    conditionRows: null,
  });
}
