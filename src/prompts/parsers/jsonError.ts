/**
 * JSON.parse messages differ between engines; pull out the reason and the offset so messages can
 * name a line and column. Handles V8 ("... in JSON at position 12 (line 1 column 13)") and
 * Firefox ("... at line 1 column 13 of the JSON data"); otherwise the message is used as is.
 */
export interface JsonErrorInfo {
  reason: string;
  /** 0-based character offset, when the engine reported one. */
  position?: number;
  /** 1-based, when the engine reported it directly. */
  line?: number;
  column?: number;
}

export function describeJsonError(error: unknown): JsonErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  const v8 = /\s*in JSON at position (\d+)(?:\s*\(line (\d+) column (\d+)\))?/.exec(message);
  if (v8) {
    const info: JsonErrorInfo = { reason: message.replace(v8[0], ''), position: Number(v8[1]) };
    if (v8[2] !== undefined) info.line = Number(v8[2]);
    if (v8[3] !== undefined) info.column = Number(v8[3]);
    return info;
  }
  const firefox = /\s*at line (\d+) column (\d+) of the JSON data/.exec(message);
  if (firefox) {
    return {
      reason: message.replace(firefox[0], '').replace(/^JSON\.parse:\s*/, ''),
      line: Number(firefox[1]),
      column: Number(firefox[2]),
    };
  }
  return { reason: message.replace(/^JSON Parse error:\s*/, '') };
}

/** 1-based line and column of a 0-based character offset. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: position - lineStart + 1 };
}
