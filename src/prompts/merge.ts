/**
 * Prompt sets put together: appending a file to a set, or merging several sets into a new one.
 * Records keep their own source (file and line); duplicates across the parts are dropped like
 * duplicates inside one file (first occurrence kept); warnings keep the file they came from.
 */
import { MAX_STORED_WARNINGS } from './collector';
import { addSkipped } from './skipped';
import { dedupeKey, dedupeRecords } from './summary';
import type { ParseResult, PromptRecord } from './types';

/** One ParseResult holding every part's records in order, de-duplicated, with the parts' warnings. */
export function mergeResults(name: string, parts: readonly ParseResult[]): ParseResult {
  const first = parts[0];
  if (!first) throw new Error('mergeResults needs at least one part');
  const deduped = dedupeRecords(parts.flatMap((part) => part.records));
  const warnings = parts
    .flatMap((part) => part.warnings.map((warning) => ({ ...warning, message: `${part.fileName}: ${warning.message}` })))
    .slice(0, MAX_STORED_WARNINGS);
  return {
    fileName: name,
    format: first.format,
    formatSource: first.formatSource,
    records: deduped.records,
    recordsRead: parts.reduce((sum, part) => sum + part.recordsRead, 0),
    duplicatesDropped: parts.reduce((sum, part) => sum + part.duplicatesDropped, 0) + deduped.duplicatesDropped,
    warnings,
    warningCount: parts.reduce((sum, part) => sum + part.warningCount, 0),
    // a part saved before skipped parts were counted makes the sum unknown
    ...(parts.every((part) => part.skipped) ? { skipped: parts.reduce((sum, part) => addSkipped(sum, part.skipped!), {}) } : {}),
  };
}

/** True when both hold the same prompts in the same order (as de-duplication compares them). */
export function sameRecords(a: readonly PromptRecord[], b: readonly PromptRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (dedupeKey(a[i]!) !== dedupeKey(b[i]!)) return false;
  return true;
}
