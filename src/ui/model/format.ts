import type { AdapterOrigin } from '../../store/engine';

export { formatBytes } from '../prompts/format';

/** "2 Dec, 14:05": when an adapter was made or imported, short enough for a table cell. */
export function formatWhen(at: number): string {
  return new Date(at).toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/**
 * Where an adapter came from, in words: "Generated from arc.jsonl, 2 Dec, 14:05", "Generated from
 * headlines.jsonl with its answers (examples mode), ...", "Imported from tutor.zip".
 */
export function describeOrigin(origin: AdapterOrigin): string {
  const examples = origin.kind === 'generated' && origin.mode === 'examples' ? ' with its answers (examples mode)' : '';
  const what = origin.kind === 'generated'
    ? origin.promptSet ? `Generated from ${origin.promptSet}${examples}` : `Generated here${examples}`
    : origin.file ? `Imported from ${origin.file}` : 'Imported';
  return origin.at === null ? what : `${what}, ${formatWhen(origin.at)}`;
}

/** An adapter in a select: its name and rank (where it came from is shown beside the select, not doubled in the name). */
export function adapterOptionLabel(adapter: { name: string; rank: number }): string {
  return `${adapter.name} — rank ${adapter.rank}`;
}
