/**
 * One adapter generation as the Generate screen shows it: the stage list (encode, each decoder
 * block with its heatmap, detokenise, apply) filled in from the engine's stage events with their
 * measured times, cancel, step-through (the engine really pauses after each block), and what
 * happens after success (saved for reloads, chosen for Compare, renamable).
 */
import { create } from 'zustand';
import type { Heatmap } from '../generator/runtime';
import type { AdapterSummary, GenerateAdapterStage, GeneratorInfo } from '../worker/engineClient';
import { getEngineClient, persistGeneratedAdapter, readableError, refreshAdapters, renameAdapter, type ReadableError } from './engine';
import { useNavigation } from './navigation';

export type StageState = 'pending' | 'running' | 'done';

export interface StageRow {
  /** 'encode', 'block-{i}', 'detokenize' or 'apply'. */
  key: string;
  label: string;
  state: StageState;
  /** Measured by the engine; null until the stage is done. */
  ms: number | null;
  /** The block's output (down-sampled), for decoder blocks once done. */
  snapshot: Heatmap | null;
  layer: number | null;
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
  /** The name typed by the person; null: the default made from the prompt set's name. */
  nameDraft: string | null;
  adapter: AdapterSummary | null;
  /** The prompt set the last run used. */
  promptSetName: string | null;
  totalMs: number | null;
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
  totalMs: null,
  saveError: null,
  renameError: null,
  generatorInfo: null,
}));

/** "arc-easy.jsonl" -> "arc-easy (generated)". */
export function defaultAdapterName(promptSetName: string): string {
  const base = promptSetName.replace(/\.(jsonl|ndjson|json|csv|tsv|tab|txt|text|md)$/i, '').trim();
  return `${base || 'prompts'} (generated)`;
}

export function isActive(status: GenerationStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'cancelling';
}

export function stageRows(info: GeneratorInfo): StageRow[] {
  const row = (key: string, label: string, layer: number | null = null): StageRow => ({ key, label, state: 'pending', ms: null, snapshot: null, layer });
  return [
    row('encode', `Encode ${info.promptCount} prompts`),
    ...info.blocks.map((b) => row(`block-${b.index}`, `Decoder block ${b.index}`, b.index)),
    row('detokenize', 'Detokenise'),
    row('apply', 'Apply to the model'),
  ];
}

function keyOf(event: GenerateAdapterStage): string | null {
  if (event.stage === 'encode' || event.stage === 'detokenize' || event.stage === 'apply') return event.stage;
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

/** Generates an adapter from `prompts` (the P sampled prompts of the set named `promptSetName`). */
export async function startGeneration(prompts: string[], promptSetName: string): Promise<void> {
  if (isActive(useGeneration.getState().status)) return;
  const id = ++runId;
  const started = performance.now();
  const { nameDraft, stepThrough } = useGeneration.getState();
  const name = (nameDraft ?? '').trim() || defaultAdapterName(promptSetName);
  useGeneration.setState({
    status: 'running', error: null, adapter: null, pausedLayer: null, totalMs: null, saveError: null, renameError: null, promptSetName, stages: [],
  });
  const info = useGeneration.getState().generatorInfo ?? (await loadGeneratorInfo());
  if (id !== runId) return;
  const rows = info ? stageRows(info) : [];
  useGeneration.setState({ stages: rows.map((s, i) => (i === 0 ? { ...s, state: 'running' } : s)) });
  const onStage = (event: GenerateAdapterStage) => {
    if (id !== runId) return;
    useGeneration.setState((state) => ({
      stages: applyStage(state.stages, event),
      ...(event.paused && state.status === 'running' ? { status: 'paused' as const, pausedLayer: event.layer } : {}),
    }));
  };
  try {
    const adapter = await getEngineClient().generateAdapter(prompts, name, onStage, { stepThrough });
    if (id !== runId) return;
    useGeneration.setState({ status: 'done', adapter, nameDraft: adapter.name, pausedLayer: null, totalMs: performance.now() - started });
    // Chosen on the Compare tab right away; saved so it survives a reload.
    useNavigation.getState().selectAdapter(adapter.id);
    const saved = persistGeneratedAdapter(adapter);
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

export function setStepThrough(on: boolean): void {
  useGeneration.setState({ stepThrough: on });
}

export function setNameDraft(name: string): void {
  useGeneration.setState({ nameDraft: name, renameError: null });
}

/** Renames the generated adapter (engine and saved copy) to the current draft. */
export async function commitRename(): Promise<void> {
  const { adapter, nameDraft, status } = useGeneration.getState();
  // Before a run the draft is the name of the next adapter, not a rename of the last one.
  if (status !== 'done' || !adapter || nameDraft === null || nameDraft.trim() === '' || nameDraft.trim() === adapter.name) return;
  await persisting;
  const error = await renameAdapter(adapter.id, nameDraft);
  useGeneration.setState((state) => ({
    renameError: error,
    adapter: !error && state.adapter?.id === adapter.id ? { ...state.adapter, name: nameDraft.trim() } : state.adapter,
  }));
}

/** Forgets the last result (after its adapter was removed elsewhere, or to start over). */
export function resetGeneration(): void {
  runId++;
  useGeneration.setState({ status: 'idle', stages: [], error: null, adapter: null, pausedLayer: null, totalMs: null, saveError: null, nameDraft: null });
}
