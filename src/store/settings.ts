/** Page-wide preferences, kept in localStorage so a reload keeps them. */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';

/** Prompts fed to the generator per batch (the paper's P). */
export const DEFAULT_SAMPLE_SIZE = 8;
export const MAX_SAMPLE_SIZE = 256;

interface SettingsState {
  sampleSize: number;
  largeText: boolean;
  setSampleSize: (size: number) => void;
  setLargeText: (on: boolean) => void;
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
      setSampleSize: (size) => set({ sampleSize: clampSampleSize(size) }),
      setLargeText: (on) => set({ largeText: on }),
    }),
    { name: 'dnd-lora-settings', version: 1 },
  ),
);
