/**
 * What the Prompts screen can do: read files and pasted text through the worker, re-read a
 * table with another column, and turn every failure into a readable notice. Successful reads
 * add a set; failures add a notice and leave every existing set untouched.
 */
import { FileTooLargeError, MAX_FILE_BYTES } from '../prompts/errors';
import { mergeResults, sameRecords } from '../prompts/merge';
import { describeWarnings } from '../prompts/skipped';
import { newSeed, summarizePrompts } from '../prompts/summary';
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
  if (outcome.ok) addOrAppend(file.name, { kind: 'file', file }, file.size, outcome);
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
    addOrAppend(name, { kind: 'paste', text }, sizeBytes, outcome);
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
  if (origin.kind === 'merged') return; // parts from several sources: no single table to re-read
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
    message: `${countOf(promptSet.result.records.length, 'prompt was', 'prompts were')} removed from this page.`,
    actions: [{ label: 'Undo', run: () => reinsert(promptSet, index) }],
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

/** "1 prompt", "12 prompts" (with the verb when given: "1 prompt was", "2 prompts were"). */
function countOf(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
}

type ReadSuccess = Extract<ReadOutcome, { ok: true }>;

/** A successful read goes to the chosen set (appended) or becomes a new set. */
function addOrAppend(name: string, origin: PromptSet['origin'], sizeBytes: number, outcome: ReadSuccess): void {
  const { addTargetId, sets } = usePromptSets.getState();
  const target = sets.find((s) => s.id === addTargetId);
  if (target) appendToSet(target, name, sizeBytes, outcome);
  else addSet(name, origin, sizeBytes, outcome);
}

function announceRead(name: string, outcome: ReadSuccess): void {
  const { records, warningCount } = outcome.result;
  const skipped = warningCount > 0 ? `; ${describeWarnings(outcome.result)} (see Warnings)` : '';
  useNotices.getState().announce(`Read ${name}: ${countOf(records.length, 'prompt')}${skipped}.`);
}

function addSet(name: string, origin: PromptSet['origin'], sizeBytes: number, outcome: ReadSuccess) {
  announceRead(name, outcome);
  // The same file read again (same name): offer to replace the earlier set or keep both.
  const earlier = origin.kind === 'file' ? usePromptSets.getState().sets.find((s) => s.name === name && s.origin.kind === 'file') : undefined;
  const id = newPromptSetId();
  usePromptSets.getState().add({
    id,
    name,
    origin,
    sizeBytes,
    result: outcome.result,
    summary: outcome.summary,
    sampleSeed: newSeed(),
    loadedAt: Date.now(),
  });
  if (earlier) offerReplace(earlier, id, outcome);
}

/** A notice for a file read twice: Replace (the new read takes the earlier one's place) or Keep both (renamed "name (2)"). */
function offerReplace(earlier: PromptSet, newId: string, outcome: ReadSuccess): void {
  const count = outcome.result.records.length;
  const identical = sameRecords(earlier.result.records, outcome.result.records);
  useNotices.getState().push({
    tone: 'info',
    code: 'same-file-again',
    title: `${earlier.name} is already loaded`,
    message: identical
      ? `The earlier set has the same ${countOf(count, 'prompt')}. Replace it with this read, or keep both?`
      : `The earlier set has ${countOf(earlier.result.records.length, 'prompt')}; this read has ${countOf(count, 'prompt')}. Replace the earlier set, or keep both?`,
    actions: [
      { label: 'Replace the earlier set', run: () => usePromptSets.getState().replaceSet(earlier.id, newId) },
      { label: 'Keep both', run: () => usePromptSets.getState().rename(newId, nextFreeName(earlier.name)) },
    ],
  });
}

/** "a.jsonl (2)", "a.jsonl (3)", ...: the first name no set has. */
function nextFreeName(name: string): string {
  const names = new Set(usePromptSets.getState().sets.map((s) => s.name));
  for (let n = 2; ; n++) if (!names.has(`${name} (${n})`)) return `${name} (${n})`;
}

function mergedOrigin(parts: readonly PromptSet[] | readonly string[]): PromptSet['origin'] {
  const names = parts.flatMap((part) => (typeof part === 'string' ? [part] : part.origin.kind === 'merged' ? part.origin.parts : [part.name]));
  return { kind: 'merged', parts: names };
}

/** Adds a file's (or paste's) prompts to an existing set; duplicates of prompts already there are dropped. */
function appendToSet(target: PromptSet, name: string, sizeBytes: number, outcome: ReadSuccess): void {
  const result = mergeResults(target.name, [target.result, outcome.result]);
  const added = result.records.length - target.result.records.length;
  usePromptSets.getState().replaceContents(target.id, {
    origin: mergedOrigin([...(target.origin.kind === 'merged' ? target.origin.parts : [target.name]), name]),
    sizeBytes: target.sizeBytes + sizeBytes,
    result,
    summary: summarizePrompts(result.records),
  });
  usePromptSets.getState().select(target.id);
  const dropped = outcome.result.records.length - added;
  useNotices.getState().announce(
    `Added ${countOf(added, 'prompt')} from ${name} to ${target.name} (now ${countOf(result.records.length, 'prompt')}` +
      `${dropped > 0 ? `; ${countOf(dropped, 'duplicate')} dropped` : ''}).`,
  );
}

/** A new set holding the prompts of `ids` (in list order); the parts stay as they are. */
export function mergePromptSets(ids: readonly string[], name: string): string | null {
  const parts = usePromptSets.getState().sets.filter((s) => ids.includes(s.id));
  if (parts.length < 2) return null;
  const result = mergeResults(name, parts.map((part) => part.result));
  const id = newPromptSetId();
  usePromptSets.getState().add({
    id,
    name,
    origin: mergedOrigin(parts),
    sizeBytes: parts.reduce((sum, part) => sum + part.sizeBytes, 0),
    result,
    summary: summarizePrompts(result.records),
    sampleSeed: newSeed(),
    loadedAt: Date.now(),
  });
  useNotices.getState().announce(`Merged ${countOf(parts.length, 'set')} into ${name}: ${countOf(result.records.length, 'prompt')}.`);
  return id;
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
