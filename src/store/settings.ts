/** Page-wide preferences, kept in localStorage so a reload keeps them. */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { BACKEND_CHOICES, type BackendChoice } from '../model/backendChoice';

/** Prompts fed to the generator per batch (the paper's P). */
export const DEFAULT_SAMPLE_SIZE = 8;
export const MAX_SAMPLE_SIZE = 256;

interface SettingsState {
  sampleSize: number;
  largeText: boolean;
  /** Where the model runs (src/model/backendChoice.ts); read when the model is loaded. */
  backend: BackendChoice;
  setSampleSize: (size: number) => void;
  setLargeText: (on: boolean) => void;
  setBackend: (choice: BackendChoice) => void;
}

export function clampSampleSize(value: number): number {
  if (!Number.isFinite(value)) return DEFAULT_SAMPLE_SIZE;
  return Math.min(MAX_SAMPLE_SIZE, Math.max(1, Math.round(value)));
}

export const useSettings = create<SettingsState>()(
  persist(
    (set) => ({
      sampleSize: DEFAULT_SAMPLE_SIZE,
      largeText: false,
      backend: 'auto',
      setSampleSize: (size) => set({ sampleSize: clampSampleSize(size) }),
      setLargeText: (on) => set({ largeText: on }),
      setBackend: (choice) => set({ backend: BACKEND_CHOICES.includes(choice) ? choice : 'auto' }),
    }),
    {
      name: 'dnd-lora-settings',
      version: 1,
      // A stored value this version does not know (edited by hand, or from a later one) means Auto.
      merge: (stored, current) => {
        const saved = (stored ?? {}) as Partial<SettingsState>;
        const backend = saved.backend !== undefined && BACKEND_CHOICES.includes(saved.backend) ? saved.backend : 'auto';
        return { ...current, ...saved, backend };
      },
    },
  ),
);
