/**
 * JSON: a list of prompts (strings or objects of the shapes in ../shapes.ts), a single such object,
 * or an object wrapping the list ({ data: [...] }, { prompts: [...] }, or its only list-valued key).
 * A .json file that is really JSONL (common) is read as JSONL, with a warning.
 */
import { RecordCollector, runSteps, type ParseSteps } from '../collector';
import { MalformedJsonError, NoPromptsFoundError } from '../errors';
import { describeJsonType, extractPrompt } from '../shapes';
import type { PromptRecord } from '../types';
import { describeJsonError, lineAndColumn } from './jsonError';
import { parseJsonlSteps, type JsonlOptions } from './jsonl';

export interface JsonParseDetails {
  /** True when the file held one JSON value per line and was read as JSONL. */
  readAsJsonl: boolean;
}

const WRAPPER_KEYS = ['data', 'prompts', 'examples', 'items', 'rows', 'records', 'instances', 'samples', 'train', 'test'];

export function* parseJsonSteps(
  text: string,
  out: RecordCollector,
  options: JsonlOptions = {},
): ParseSteps<JsonParseDetails> {
  let root: unknown;
  try {
    // One blocking call; V8 parses ~200-400 MB/s, so a 50 MB file stalls a worker well under a second.
    root = JSON.parse(text);
  } catch (error) {
    if (looksLikeJsonl(text)) {
      out.warn({
        code: 'format-fallback',
        message: `${out.fileName} holds one JSON value per line; it was read as JSONL.`,
      });
      yield* parseJsonlSteps(text, out, options);
      return { readAsJsonl: true };
    }
    const info = describeJsonError(error);
    const where =
      info.line !== undefined
        ? { line: info.line, column: info.column ?? 1 }
        : info.position !== undefined
          ? lineAndColumn(text, info.position)
          : undefined;
    throw new MalformedJsonError(out.fileName, info.reason, where?.line, where?.column);
  }

  const items = listItems(root, out.fileName);
  if (items.length === 0) throw new NoPromptsFoundError(out.fileName, 'the list of prompts is empty');
  for (let i = 0; i < items.length; i++) {
    out.addExtracted(extractPrompt(items[i]), { item: i + 1 });
    // Progress in characters is not known per item; report a proportional estimate.
    yield Math.round(((i + 1) / items.length) * text.length);
  }
  return { readAsJsonl: false };
}

function listItems(root: unknown, fileName: string): unknown[] {
  if (Array.isArray(root)) return root;
  if (typeof root === 'string') return [root];
  if (typeof root !== 'object' || root === null) {
    throw new NoPromptsFoundError(fileName, `the file holds a single value (${describeJsonType(root)})`);
  }
  if (extractPrompt(root).ok) return [root];
  const object = root as Record<string, unknown>;
  for (const key of WRAPPER_KEYS) {
    const value = object[key];
    if (Array.isArray(value)) return value;
  }
  const lists = Object.values(object).filter(Array.isArray);
  if (lists.length === 1) return lists[0] as unknown[];
  const keys = Object.keys(object);
  throw new NoPromptsFoundError(
    fileName,
    `the top-level object has no prompt fields and no single list of prompts (keys: ${keys.slice(0, 8).join(', ') || 'none'})`,
  );
}

/** At least two non-empty lines and the first two each parse as a JSON object or array on their own. */
function looksLikeJsonl(text: string): boolean {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < 2 && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    if (line.length > 0) lines.push(line);
    start = end + 1;
  }
  if (lines.length < 2) return false;
  return lines.every((line) => {
    if (!line.startsWith('{') && !line.startsWith('[') && !line.startsWith('"')) return false;
    try {
      JSON.parse(line);
      return true;
    } catch {
      return false;
    }
  });
}

export function parseJson(text: string, fileName = 'json', options: JsonlOptions = {}): PromptRecord[] {
  const out = new RecordCollector(fileName);
  runSteps(parseJsonSteps(text, out, options));
  return out.records;
}
