/** Files being read right now, with their progress and a way to cancel them. */
import { create } from 'zustand';
import type { ReadPhase } from '../prompts/types';

export interface ReadJob {
  id: number;
  label: string;
  sizeBytes: number;
  phase: ReadPhase | 'queued';
  /** 0..1, or null when the reader has not reported yet. */
  fraction: number | null;
  recordsSoFar: number;
  controller: AbortController;
  /** Set when the job re-reads an existing set (e.g. with other CSV columns). */
  rereadsSetId?: string;
}

interface ReadJobsState {
  jobs: ReadJob[];
  add: (job: ReadJob) => void;
  update: (id: number, patch: Partial<Pick<ReadJob, 'phase' | 'fraction' | 'recordsSoFar'>>) => void;
  remove: (id: number) => void;
}

export const useReadJobs = create<ReadJobsState>()((set) => ({
  jobs: [],
  add: (job) => set((state) => ({ jobs: [...state.jobs, job] })),
  update: (id, patch) =>
    set((state) => ({ jobs: state.jobs.map((job) => (job.id === id ? { ...job, ...patch } : job)) })),
  remove: (id) => set((state) => ({ jobs: state.jobs.filter((job) => job.id !== id) })),
}));
