/**
 * What was skipped when a file was read, in words, counted in the unit it was read in: "1 item was
 * skipped", "3 lines were skipped", "2 lines and 1 row were skipped" (a merged set), with notes
 * (warnings that skipped nothing: a format fallback, a remark on the whole file) counted apart.
 */
import type { ParseResult, SkippedCounts, SkippedUnit } from './types';

const UNITS: readonly SkippedUnit[] = ['line', 'paragraph', 'item', 'row'];

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

export function skippedTotal(counts: SkippedCounts): number {
  return UNITS.reduce((sum, unit) => sum + (counts[unit] ?? 0), 0);
}

/** Adds skipped counts (merging sets). */
export function addSkipped(a: SkippedCounts, b: SkippedCounts): SkippedCounts {
  const out: SkippedCounts = { ...a };
  for (const unit of UNITS) if (b[unit]) out[unit] = (out[unit] ?? 0) + b[unit];
  return out;
}

/** "1 item was skipped", "2 lines and 1 row were skipped"; '' when nothing was. */
export function describeSkipped(counts: SkippedCounts): string {
  const parts = UNITS.filter((unit) => (counts[unit] ?? 0) > 0).map((unit) => count(counts[unit]!, unit));
  if (parts.length === 0) return '';
  const list = parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}`;
  return `${list} ${skippedTotal(counts) === 1 ? 'was' : 'were'} skipped`;
}

/**
 * A result's warnings in words: what was skipped, and how many notes besides ("1 item was skipped;
 * 1 note"); for a set saved before skipped parts were counted, only the number of warnings.
 */
export function describeWarnings(result: Pick<ParseResult, 'warningCount' | 'skipped'>): string {
  if (!result.skipped) return count(result.warningCount, 'warning');
  const skipped = describeSkipped(result.skipped);
  const notes = result.warningCount - skippedTotal(result.skipped);
  const noteText = notes > 0 ? count(notes, 'note') : '';
  return [skipped, noteText].filter(Boolean).join('; ');
}
