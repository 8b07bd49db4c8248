/**
 * Plain text: one prompt per line, or prompts separated by blank lines when some prompt spans
 * several lines (auto-detected, or forced with `mode`).
 */
import { RecordCollector, runSteps, type ParseSteps } from '../collector';
import type { PromptRecord, TextSplitMode } from '../types';

export interface TextParseDetails {
  textSplit: TextSplitMode;
}

export function* parseTextSteps(
  text: string,
  out: RecordCollector,
  mode?: TextSplitMode,
): ParseSteps<TextParseDetails> {
  const lines = text.split('\n');
  const split = mode ?? detectTextSplit(lines);
  let offset = 0;
  if (split === 'line') {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      offset += line.length + 1;
      const prompt = line.trim();
      if (prompt.length > 0 && !out.skipUndecodable({ line: i + 1 }, i + 1, 'line')) out.addExtracted({ ok: true, prompt }, { line: i + 1 }, 'line');
      yield offset;
    }
    return { textSplit: split };
  }

  let block: string[] = [];
  let blockStart = 0;
  const flush = (): void => {
    const first = blockStart + 1;
    const last = blockStart + block.length;
    if (block.length > 0 && !out.skipUndecodable({ line: first }, last, 'paragraph')) {
      out.addExtracted({ ok: true, prompt: block.join('\n') }, { line: first }, 'paragraph');
    }
    block = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    offset += line.length + 1;
    if (line.trim().length === 0) {
      flush();
    } else {
      if (block.length === 0) blockStart = i;
      // Keep indentation (code prompts), drop trailing spaces and the CR of CRLF files.
      block.push(line.trimEnd());
    }
    yield offset;
  }
  flush();
  return { textSplit: split };
}

/**
 * Paragraph mode when blank lines exist and at least one block has several lines. A one-per-line
 * file that uses blank lines as section breaks is therefore read as paragraphs; the result's
 * `textSplit` lets the UI show the choice and re-read with the other mode.
 */
export function detectTextSplit(lines: readonly string[]): TextSplitMode {
  // A blank line separates only when content comes both before and after it (not a trailing newline).
  let separated = false;
  let multiLineBlock = false;
  let seenContent = false;
  let blankSinceContent = false;
  let run = 0;
  for (const line of lines) {
    if (line.trim().length === 0) {
      blankSinceContent = seenContent;
      run = 0;
      continue;
    }
    if (blankSinceContent) separated = true;
    blankSinceContent = false;
    seenContent = true;
    if (++run >= 2) multiLineBlock = true;
    if (separated && multiLineBlock) return 'paragraph';
  }
  return 'line';
}

/** Synchronous convenience for tests and small inputs. */
export function parseText(
  text: string,
  fileName = 'text',
  mode?: TextSplitMode,
): { records: PromptRecord[]; textSplit: TextSplitMode } {
  const out = new RecordCollector(fileName);
  const details = runSteps(parseTextSteps(text, out, mode));
  return { records: out.records, textSplit: details.textSplit };
}
