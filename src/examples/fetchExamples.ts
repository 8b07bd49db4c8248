/**
 * Page side of the example prompt files: the index and one file, fetched from the app's own origin
 * (served by scripts/vite-examples-plugin.ts). Every failure is an {@link ExamplesError} whose
 * message says what happened and what to do.
 */
import { EXAMPLES_INDEX_PATH, type ExampleEntry, type ExamplesIndex } from './types';

export class ExamplesError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExamplesError';
  }
}

function urlOf(path: string): string {
  return new URL(`${import.meta.env.BASE_URL}${path}`, window.location.href).href;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isEntry(value: unknown): value is ExampleEntry {
  const e = value as Partial<ExampleEntry> | null;
  return !!e && typeof e.task === 'string' && typeof e.kind === 'string' && typeof e.file === 'string' && typeof e.count === 'number';
}

/** The list of example files; `available: false` with the build's reason when there are none. */
export async function fetchExamplesIndex(): Promise<ExamplesIndex> {
  let response: Response;
  try {
    response = await fetch(urlOf(EXAMPLES_INDEX_PATH));
  } catch (error) {
    throw new ExamplesError(`The list of example files could not be fetched (${describe(error)}). Reload the page to try again.`, { cause: error });
  }
  if (!response.ok) throw new ExamplesError(`The list of example files is not served (HTTP ${response.status}). This build has no examples.`);
  let data: unknown;
  try {
    data = await response.json();
  } catch {
    // e.g. a server that answers every path with the page itself
    throw new ExamplesError('The list of example files is not served by this build (the answer was not JSON).');
  }
  const index = data as Partial<ExamplesIndex> | null;
  if (index?.available === false) return { available: false, reason: String(index.reason ?? 'no reason given'), examples: [], skipped: [] };
  if (index?.available !== true || !Array.isArray(index.examples) || !index.examples.every(isEntry)) {
    throw new ExamplesError('The list of example files has an unexpected shape; rebuild the app.');
  }
  return { available: true, maxLines: Number(index.maxLines ?? 0), examples: index.examples, skipped: Array.isArray(index.skipped) ? index.skipped : [] };
}

/** One example as a File, so it is read exactly like a file the person picked. */
export async function fetchExampleFile(entry: ExampleEntry): Promise<File> {
  const name = entry.file.split('/').pop() ?? `${entry.task}.jsonl`;
  let response: Response;
  try {
    response = await fetch(urlOf(entry.file));
  } catch (error) {
    throw new ExamplesError(`${name} could not be fetched (${describe(error)}). Check that the page's server is still running and try again.`, { cause: error });
  }
  if (!response.ok) throw new ExamplesError(`${name} is not served (HTTP ${response.status}); rebuild the app with the datasets folder.`);
  const blob = await response.blob();
  return new File([blob], name, { type: 'application/jsonl' });
}
