/**
 * JSONL: one JSON value per line. A malformed line is skipped with a warning naming it (like a bad
 * CSV row), so one typo does not cost the other lines; only a file with no valid line fails, naming
 * the first bad line and how many there are. `malformedLines: 'error'` fails on any malformed line.
 * A line that is not valid UTF-8 is skipped the same way (RecordCollector.skipUndecodable).
 */
import { RecordCollector, runSteps, type ParseSteps } from '../collector';
import { MalformedJsonlError } from '../errors';
import { extractPrompt } from '../shapes';
import type { PromptRecord } from '../types';
import { describeJsonError } from './jsonError';

export interface JsonlOptions {
  /** 'skip' (default): warn per malformed line, fail only when no line is valid; 'error': fail on the first. */
  malformedLines?: 'error' | 'skip';
}

export function* parseJsonlSteps(
  text: string,
  out: RecordCollector,
  options: JsonlOptions = {},
): ParseSteps<void> {
  const skipMalformed = options.malformedLines !== 'error';
  let validLines = 0;
  let firstBad: { line: number; reason: string } | undefined;
  let badCount = 0;
  let start = 0;
  // Walk with indexOf rather than split('\n'): a 50 MB file then never exists twice as line arrays.
  for (let lineNumber = 1; start <= text.length; lineNumber++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line.length > 0 && !out.skipUndecodable({ line: lineNumber }, lineNumber, 'line')) {
      let value: unknown;
      let parsed = true;
      try {
        value = JSON.parse(line);
      } catch (error) {
        parsed = false;
        const info = describeJsonError(error);
        const reason = info.position !== undefined ? `${info.reason} (column ${info.position + 1})` : info.reason;
        badCount++;
        firstBad ??= { line: lineNumber, reason };
        if (skipMalformed) {
          out.warn({ code: 'skipped-item', message: `Line ${lineNumber} is not valid JSON (${reason}); skipped.`, line: lineNumber, skipped: 'line' });
        }
      }
      if (parsed) {
        validLines++;
        out.addExtracted(extractPrompt(value), { line: lineNumber }, 'line');
      }
    }
    yield Math.min(start, text.length);
  }
  if (firstBad && (!skipMalformed || validLines === 0)) {
    throw new MalformedJsonlError(out.fileName, firstBad.line, firstBad.reason, badCount);
  }
}

export function parseJsonl(text: string, fileName = 'jsonl', options: JsonlOptions = {}): PromptRecord[] {
  const out = new RecordCollector(fileName);
  runSteps(parseJsonlSteps(text, out, options));
  return out.records;
}
