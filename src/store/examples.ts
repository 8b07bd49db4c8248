/**
 * The "Examples" group of the Prompts screen: the list of example files (fetched once per page)
 * and loading one through the same path as a picked file (loadPromptFiles), so it becomes a
 * prompt set like any other. Failures become a notice; existing sets are never touched.
 */
import { create } from 'zustand';
import { fetchExampleFile, fetchExamplesIndex } from '../examples/fetchExamples';
import type { ExampleEntry, ExamplesIndex } from '../examples/types';
import { useNotices } from './notices';
import { loadPromptFiles } from './promptActions';

export type ExamplesState =
  | { status: 'idle' | 'loading' }
  | { status: 'ready'; index: Extract<ExamplesIndex, { available: true }> }
  | { status: 'unavailable'; reason: string };

interface ExamplesStore {
  list: ExamplesState;
  /** Tasks whose file is being fetched or read. */
  busy: string[];
}

export const useExamples = create<ExamplesStore>()(() => ({ list: { status: 'idle' }, busy: [] }));

/** Fetches the list once (again only after a failure). */
export async function loadExamplesIndex(): Promise<void> {
  const { list } = useExamples.getState();
  if (list.status === 'loading' || list.status === 'ready') return;
  useExamples.setState({ list: { status: 'loading' } });
  try {
    const index = await fetchExamplesIndex();
    useExamples.setState({ list: index.available ? { status: 'ready', index } : { status: 'unavailable', reason: index.reason } });
  } catch (error) {
    useExamples.setState({ list: { status: 'unavailable', reason: error instanceof Error ? error.message : String(error) } });
  }
}

/** Fetches one example file and reads it like a picked file. */
export async function loadExample(entry: ExampleEntry): Promise<void> {
  if (useExamples.getState().busy.includes(entry.task)) return;
  useExamples.setState((s) => ({ busy: [...s.busy, entry.task] }));
  try {
    const file = await fetchExampleFile(entry);
    await loadPromptFiles([file]);
  } catch (error) {
    useNotices.getState().push({
      tone: 'error',
      code: 'example-unavailable',
      title: `Example ${entry.task} not loaded`,
      message: error instanceof Error ? error.message : String(error),
    });
  } finally {
    useExamples.setState((s) => ({ busy: s.busy.filter((t) => t !== entry.task) }));
  }
}
