/**
 * The person's prompt sets: one per dropped file or paste. A set is only ever added or replaced
 * by a successful read, so a failing file never touches the sets already loaded.
 */
import { create } from 'zustand';
import type { ParseResult } from '../prompts/types';
import { newSeed, type PromptSummary } from '../prompts/summary';

/** Where a set came from; kept so a CSV set can be re-read with another column choice. */
export type PromptSetOrigin =
  | { kind: 'file'; file: File }
  | { kind: 'paste'; text: string }
  /** Appended to or merged: the names of the parts, in order (no re-read of columns). */
  | { kind: 'merged'; parts: string[] };

export interface PromptSet {
  id: string;
  name: string;
  origin: PromptSetOrigin;
  sizeBytes: number;
  result: ParseResult;
  summary: PromptSummary;
  /** Seed of the current sample of P prompts; "Re-sample" draws a new one. */
  sampleSeed: number;
  loadedAt: number;
}

interface PromptSetsState {
  sets: PromptSet[];
  selectedId: string | null;
  add: (set: PromptSet) => void;
  /** Sets saved in an earlier visit, placed before any loaded since. */
  restore: (sets: readonly PromptSet[]) => void;
  /** Swap in a new read of the same source (e.g. another CSV column); the seed is kept. */
  replaceResult: (id: string, result: ParseResult, summary: PromptSummary) => void;
  remove: (id: string) => void;
  /** Put a removed set back where it was (Undo). */
  reinsert: (set: PromptSet, index: number) => void;
  select: (id: string) => void;
  resample: (id: string) => void;
  /** A set's new contents after prompts were appended to it (the seed is kept). */
  replaceContents: (id: string, contents: Pick<PromptSet, 'origin' | 'sizeBytes' | 'result' | 'summary'>) => void;
  /** Puts `newId` where `oldId` was and drops `oldId` (a file read again replaces its earlier read). */
  replaceSet: (oldId: string, newId: string) => void;
  rename: (id: string, name: string) => void;
  /** Where new files and pastes go: a new set (null, the default) or this set, appended to. */
  addTargetId: string | null;
  setAddTarget: (id: string | null) => void;
}

let nextSetNumber = 1;
export function newPromptSetId(): string {
  return `set-${Date.now().toString(36)}-${nextSetNumber++}`;
}

export const usePromptSets = create<PromptSetsState>()((set) => ({
  sets: [],
  selectedId: null,
  addTargetId: null,
  add: (promptSet) => set((state) => ({ sets: [...state.sets, promptSet], selectedId: promptSet.id })),
  restore: (restored) =>
    set((state) => ({
      sets: [...restored, ...state.sets],
      selectedId: state.selectedId ?? restored[restored.length - 1]?.id ?? null,
    })),
  replaceResult: (id, result, summary) =>
    set((state) => ({
      sets: state.sets.map((s) => (s.id === id ? { ...s, result, summary } : s)),
    })),
  remove: (id) =>
    set((state) => {
      const index = state.sets.findIndex((s) => s.id === id);
      const sets = state.sets.filter((s) => s.id !== id);
      const neighbour = sets[Math.min(index, sets.length - 1)];
      const selectedId = state.selectedId === id ? (neighbour?.id ?? null) : state.selectedId;
      return { sets, selectedId, addTargetId: state.addTargetId === id ? null : state.addTargetId };
    }),
  reinsert: (promptSet, index) =>
    set((state) => {
      if (state.sets.some((s) => s.id === promptSet.id)) return state;
      const sets = [...state.sets];
      sets.splice(Math.min(index, sets.length), 0, promptSet);
      return { sets, selectedId: promptSet.id };
    }),
  select: (id) => set({ selectedId: id }),
  resample: (id) =>
    set((state) => ({ sets: state.sets.map((s) => (s.id === id ? { ...s, sampleSeed: newSeed() } : s)) })),
  replaceContents: (id, contents) => set((state) => ({ sets: state.sets.map((s) => (s.id === id ? { ...s, ...contents } : s)) })),
  replaceSet: (oldId, newId) =>
    set((state) => {
      const replacement = state.sets.find((s) => s.id === newId);
      if (!replacement || !state.sets.some((s) => s.id === oldId)) return state;
      const sets = state.sets.filter((s) => s.id !== newId).map((s) => (s.id === oldId ? replacement : s));
      return { sets, selectedId: newId, addTargetId: state.addTargetId === oldId ? null : state.addTargetId };
    }),
  rename: (id, name) => set((state) => ({ sets: state.sets.map((s) => (s.id === id ? { ...s, name } : s)) })),
  setAddTarget: (id) => set({ addTargetId: id }),
}));

/** The set shown on the Prompts screen, or undefined when none is loaded. */
export function useSelectedPromptSet(): PromptSet | undefined {
  return usePromptSets((state) => state.sets.find((s) => s.id === state.selectedId) ?? state.sets[0]);
}

/** What the paste box holds, kept across reloads so typed text is never lost. */
interface PasteDraftState {
  text: string;
  setText: (text: string) => void;
}

const PASTE_DRAFT_KEY = 'dnd-lora-paste-draft';

function readDraft(): string {
  try {
    return localStorage.getItem(PASTE_DRAFT_KEY) ?? '';
  } catch {
    return '';
  }
}

export const usePasteDraft = create<PasteDraftState>()((set) => ({
  text: readDraft(),
  setText: (text) => {
    set({ text });
    try {
      // Very large pastes are not worth the quota error; they stay in memory only.
      if (text.length < 1_000_000) localStorage.setItem(PASTE_DRAFT_KEY, text);
    } catch {
      /* storage full or disabled: the draft still lives in memory */
    }
  },
}));
