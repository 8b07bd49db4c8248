/**
 * JSON: a list of prompts (strings or objects of the shapes in ../shapes.ts), a single such object,
 * or an object wrapping the list ({ data: [...] }, { prompts: [...] }, or its only list-valued key).
 * A .json file that is really JSONL (common) is read as JSONL, with a warning. A top-level list
 * that is not valid JSON as a whole keeps the items that are valid on their own, with a warning
 * per bad item (like bad CSV rows and JSONL lines); nothing valid fails the file, naming where.
 * An item on a line that is not valid UTF-8 is skipped the same way; a document other than a list
 * with such a line has no part to skip, and is refused (InvalidUtf8Error).
 */
import { RecordCollector, runSteps, type ParseSteps } from '../collector';
import { InvalidUtf8Error, MalformedJsonError, NoPromptsFoundError } from '../errors';
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
    const whole = new MalformedJsonError(out.fileName, info.reason, where?.line, where?.column);
    const items = splitArrayItems(text);
    if (items) yield* recoverItems(items, out, whole, text.length);
    else throw whole;
    return { readAsJsonl: false };
  }

  if (out.hasInvalidLines) {
    // Some lines are not valid UTF-8: the items on them are skipped, which needs each item's lines.
    const items = Array.isArray(root) ? splitArrayItems(text) : null;
    if (!items) {
      const first = out.invalidLineIn(1, Number.MAX_SAFE_INTEGER)!;
      throw new InvalidUtf8Error(out.fileName, first.byteOffset, first.line);
    }
    yield* recoverItems(items, out, null, text.length);
    return { readAsJsonl: false };
  }

  const items = listItems(root, out.fileName);
  if (items.length === 0) throw new NoPromptsFoundError(out.fileName, 'the list of prompts is empty');
  for (let i = 0; i < items.length; i++) {
    out.addExtracted(extractPrompt(items[i]), { item: i + 1 }, 'item');
    // Progress in characters is not known per item; report a proportional estimate.
    yield Math.round(((i + 1) / items.length) * text.length);
  }
  return { readAsJsonl: false };
}

interface ItemText {
  text: string;
  /** 1-based line where the item starts. */
  line: number;
  /** 1-based line where it ends. */
  lastLine: number;
}

/**
 * The items of a top-level JSON list as text, split at commas outside strings and brackets; null
 * when the text is not a list. A string is also ended by a line break (JSON strings hold none), so
 * one missing quote costs one item, not the rest of the file.
 */
export function splitArrayItems(text: string): ItemText[] | null {
  const open = text.search(/\S/);
  if (open === -1 || text[open] !== '[') return null;
  const items: ItemText[] = [];
  let line = 1;
  for (let k = 0; k < open; k++) if (text[k] === '\n') line++;
  let start = open + 1;
  let startLine = line;
  const newlines = (s: string) => s.match(/\n/g)?.length ?? 0;
  // `line` is the line of the character at `end`
  const push = (end: number) => {
    const raw = text.slice(start, end);
    const item = raw.trim();
    if (item.length === 0) return;
    const lead = raw.slice(0, raw.length - raw.trimStart().length);
    const tail = raw.slice(raw.trimEnd().length);
    items.push({ text: item, line: startLine + newlines(lead), lastLine: line - newlines(tail) });
  };
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"' || c === '\n') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) {
        push(i);
        return items;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      push(i);
      start = i + 1;
      startLine = line;
    }
  }
  push(text.length);
  return items;
}

/**
 * Parses each item on its own: the valid ones become records, each bad one (not JSON, or on a line
 * that is not valid UTF-8) a warning. `whole` is the error of the file as a whole, when it was not
 * valid JSON: said once as a note, and thrown when no item is valid.
 */
function* recoverItems(items: readonly ItemText[], out: RecordCollector, whole: MalformedJsonError | null, length: number): ParseSteps<void> {
  const parsed: { value: unknown; index: number }[] = [];
  const bad: { index: number; line: number; reason: string }[] = [];
  const undecodable: { item: ItemText; index: number }[] = [];
  items.forEach((item, index) => {
    if (out.invalidLineIn(item.line, item.lastLine)) {
      undecodable.push({ item, index });
      return;
    }
    try {
      parsed.push({ value: JSON.parse(item.text), index });
    } catch (error) {
      bad.push({ index, line: item.line, reason: describeJsonError(error).reason });
    }
  });
  if (parsed.length === 0 && whole) throw whole;
  if (whole) {
    out.warn({ code: 'partial-file', message: `${whole.message.replace(/ Fix the file or save it as JSONL\.$/, '')} The items that are valid on their own were kept.` });
  }
  for (const { item, index } of undecodable) out.skipUndecodable({ line: item.line, item: index + 1 }, item.lastLine, 'item');
  for (const b of bad) {
    out.warn({ code: 'skipped-item', message: `Item ${b.index + 1} (line ${b.line}) is not valid JSON (${b.reason}); skipped.`, item: b.index + 1, line: b.line, skipped: 'item' });
  }
  for (const { value, index } of parsed) {
    out.addExtracted(extractPrompt(value), { item: index + 1 }, 'item');
    yield Math.round(((index + 1) / items.length) * length);
  }
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
