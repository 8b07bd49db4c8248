/**
 * What the Prompts screen can do: read files and pasted text through the worker, re-read a
 * table with another column, and turn every failure into a readable notice. Successful reads
 * add a set; failures add a notice and leave every existing set untouched.
 */
import { FileTooLargeError, MAX_FILE_BYTES } from '../prompts/errors';
import { newSeed } from '../prompts/summary';
import type { CsvColumnChoice, ReadProgress } from '../prompts/types';
import { getPromptsClient, type ReadFailure, type ReadOutcome } from '../worker/promptsClient';
import { useNotices } from './notices';
import { newPromptSetId, usePromptSets, type PromptSet } from './promptSets';
import { useReadJobs, type ReadJob } from './readJobs';

let nextJobId = 1;
let lastPasteNumber = 0;

/** "Pasted text N", numbered past every paste so far, restored ones included. */
function nextPasteName(): string {
  for (const { name } of usePromptSets.getState().sets) {
    const match = /^Pasted text (\d+)$/.exec(name);
    if (match) lastPasteNumber = Math.max(lastPasteNumber, Number(match[1]));
  }
  lastPasteNumber++;
  return `Pasted text ${lastPasteNumber}`;
}

/** Read every dropped or picked file; each succeeds or fails on its own. */
export async function loadPromptFiles(files: readonly File[]): Promise<void> {
  await Promise.all(files.map((file) => loadPromptFile(file)));
}

async function loadPromptFile(file: File): Promise<void> {
  if (file.size > MAX_FILE_BYTES) {
    // Refuse before reading: the bytes of a huge file would sit in memory for nothing.
    const error = new FileTooLargeError(file.name, file.size, MAX_FILE_BYTES);
    reportFailure({ code: error.code, message: error.message, fileName: file.name });
    return;
  }
  const outcome = await withReadJob(file.name, file.size, (signal, onProgress) =>
    getPromptsClient().readFile(file, { signal, onProgress }),
  );
  if (outcome.ok) addSet(file.name, { kind: 'file', file }, file.size, outcome);
  else reportFailure(outcome.error);
}

/** Read the paste box. Returns true when a set was added (the caller may then clear the box). */
export async function loadPastedText(text: string): Promise<boolean> {
  const name = nextPasteName();
  const sizeBytes = new TextEncoder().encode(text).length;
  const outcome = await withReadJob(name, sizeBytes, (signal, onProgress) =>
    getPromptsClient().readPastedText(text, name, { signal, onProgress }),
  );
  if (outcome.ok) {
    addSet(name, { kind: 'paste', text }, sizeBytes, outcome);
    return true;
  }
  reportFailure(outcome.error);
  return false;
}

/** Re-read a CSV/TSV set with another prompt (and response) column. */
export async function chooseCsvColumns(setId: string, choice: CsvColumnChoice): Promise<void> {
  const promptSet = usePromptSets.getState().sets.find((s) => s.id === setId);
  if (!promptSet) return;
  const csv = { ...choice, delimiter: promptSet.result.csv?.columns.delimiter };
  const { origin, name } = promptSet;
  const outcome = await withReadJob(`${name} (new columns)`, promptSet.sizeBytes, (signal, onProgress) =>
    origin.kind === 'file'
      ? getPromptsClient().readFile(origin.file, { signal, onProgress, csv, format: promptSet.result.format })
      : getPromptsClient().readPastedText(origin.text, name, { signal, onProgress, csv, format: promptSet.result.format }),
    setId,
  );
  if (outcome.ok) {
    usePromptSets.getState().replaceResult(setId, outcome.result, outcome.summary);
    useNotices.getState().announce(`Re-read ${name} with the new columns: ${outcome.result.records.length.toLocaleString('en')} prompts.`);
  } else {
    reportFailure(outcome.error);
  }
}

/** Remove a set, with an Undo in the notice that says so. */
export function removePromptSet(setId: string): void {
  const { sets, remove, reinsert } = usePromptSets.getState();
  const index = sets.findIndex((s) => s.id === setId);
  const promptSet = sets[index];
  if (!promptSet) return;
  remove(setId);
  useNotices.getState().push({
    tone: 'info',
    code: 'set-removed',
    title: `Removed ${promptSet.name}`,
    message: `${promptSet.result.records.length.toLocaleString('en')} prompts were removed from this page.`,
    action: { label: 'Undo', run: () => reinsert(promptSet, index) },
  });
}

export function cancelReadJob(jobId: number): void {
  useReadJobs.getState().jobs.find((job) => job.id === jobId)?.controller.abort();
}

async function withReadJob(
  label: string,
  sizeBytes: number,
  read: (signal: AbortSignal, onProgress: (progress: ReadProgress) => void) => Promise<ReadOutcome>,
  rereadsSetId?: string,
): Promise<ReadOutcome> {
  const jobs = useReadJobs.getState();
  const id = nextJobId++;
  const controller = new AbortController();
  const job: ReadJob = { id, label, sizeBytes, phase: 'queued', fraction: null, recordsSoFar: 0, controller };
  if (rereadsSetId !== undefined) job.rereadsSetId = rereadsSetId;
  jobs.add(job);
  const onProgress = (progress: ReadProgress) =>
    useReadJobs.getState().update(id, {
      phase: progress.phase,
      fraction: progress.total > 0 ? Math.min(1, progress.done / progress.total) : null,
      recordsSoFar: progress.recordsSoFar,
    });
  try {
    return await read(controller.signal, onProgress);
  } finally {
    useReadJobs.getState().remove(id);
  }
}

function addSet(name: string, origin: PromptSet['origin'], sizeBytes: number, outcome: Extract<ReadOutcome, { ok: true }>) {
  const count = outcome.result.records.length;
  useNotices.getState().announce(`Read ${name}: ${count.toLocaleString('en')} ${count === 1 ? 'prompt' : 'prompts'}.`);
  usePromptSets.getState().add({
    id: newPromptSetId(),
    name,
    origin,
    sizeBytes,
    result: outcome.result,
    summary: outcome.summary,
    sampleSeed: newSeed(),
    loadedAt: Date.now(),
  });
}

const FAILURE_TITLES: Partial<Record<ReadFailure['code'], string>> = {
  'empty-file': 'Empty file',
  'binary-file': 'Not a text file',
  'invalid-utf8': 'Not UTF-8 text',
  'malformed-json': 'Invalid JSON',
  'malformed-jsonl': 'Invalid JSONL line',
  'no-prompts': 'No prompts found',
  'unsupported-format': 'Unsupported file',
  'file-too-large': 'File too large',
  'csv-column-not-found': 'Column not found',
  'worker-crashed': 'Prompt reader restarted',
  unreadable: 'File could not be read',
  internal: 'Reading failed',
};

function reportFailure(error: ReadFailure): void {
  if (error.code === 'cancelled') {
    useNotices.getState().push({ tone: 'info', code: 'cancelled', title: 'Cancelled', message: error.message });
    return;
  }
  useNotices.getState().push({
    tone: 'error',
    code: error.code,
    title: `${FAILURE_TITLES[error.code] ?? 'Could not read'}: ${error.fileName}`,
    message: error.message,
  });
}
