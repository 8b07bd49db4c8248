/**
 * Which adapter the Evaluate tab offers for a prompt set: the one last used with that set (chosen
 * or run there, remembered across reloads), else the newest adapter generated from it, else the
 * first in the list; with the reason, which the tab says beside the select.
 *
 * Adapters get new engine ids at every model load, so the memory names them by where they came
 * from (kind and time, saved with their zip in IndexedDB); prompt sets keep their ids across reloads.
 */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { AdapterRow } from './engine';

export type EvaluateAdapterReason = 'last-used' | 'generated' | 'first';

export interface EvaluateAdapterChoice {
  adapter: AdapterRow;
  reason: EvaluateAdapterReason;
  /** For 'generated': how many adapters were generated from the set (the newest is chosen). */
  generatedCount: number;
}

/** A name for the adapter that survives a reload (its origin's kind and time), or its engine id for this page only. */
export function adapterKey(adapter: Pick<AdapterRow, 'id' | 'origin'>): string {
  return adapter.origin.at !== null ? `${adapter.origin.kind}@${adapter.origin.at}` : `id:${adapter.id}`;
}

/** Whether the adapter was generated from this set (by id; by name for records saved before ids were kept). */
export function generatedFrom(adapter: Pick<AdapterRow, 'origin'>, set: { id: string; name: string }): boolean {
  const origin = adapter.origin;
  if (origin.kind !== 'generated') return false;
  return origin.promptSetId !== undefined ? origin.promptSetId === set.id : origin.promptSet === set.name;
}

/** The adapter to offer for `set`, given the adapter last used with it (`rememberedKey`); null without adapters. */
export function chooseEvaluateAdapter(
  set: { id: string; name: string },
  adapters: readonly AdapterRow[],
  rememberedKey: string | undefined,
): EvaluateAdapterChoice | null {
  const generated = adapters.filter((a) => generatedFrom(a, set));
  const remembered = rememberedKey === undefined ? undefined : adapters.find((a) => adapterKey(a) === rememberedKey);
  if (remembered) return { adapter: remembered, reason: 'last-used', generatedCount: generated.length };
  const newest = generated.reduce<AdapterRow | undefined>((best, a) => (best === undefined || (a.origin.at ?? 0) >= (best.origin.at ?? 0) ? a : best), undefined);
  if (newest) return { adapter: newest, reason: 'generated', generatedCount: generated.length };
  const first = adapters[0];
  return first ? { adapter: first, reason: 'first', generatedCount: 0 } : null;
}

interface EvaluateAdapterState {
  /** Prompt set id -> key of the adapter last used with it. */
  bySet: Record<string, string>;
}

export const useEvaluateAdapters = create<EvaluateAdapterState>()(
  persist(() => ({ bySet: {} as Record<string, string> }), {
    name: 'dnd-lora-evaluate-adapters',
    version: 1,
    merge: (stored, current) => {
      const bySet = (stored as Partial<EvaluateAdapterState> | undefined)?.bySet;
      return { ...current, bySet: bySet && typeof bySet === 'object' ? bySet : {} };
    },
  }),
);

/** Remembers the adapter chosen or run with a set, for the next visit to the Evaluate tab (and the next page load). */
export function rememberEvaluateAdapter(setId: string, adapter: Pick<AdapterRow, 'id' | 'origin'>): void {
  useEvaluateAdapters.setState((state) => ({ bySet: { ...state.bySet, [setId]: adapterKey(adapter) } }));
}
