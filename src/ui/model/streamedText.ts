/**
 * The text of one answer as the engine streams it. Token events come through a `Comlink.proxy`
 * callback on its own MessagePort and the finished result on the worker's port, so the page may see
 * them in any order: token events out of order, and after the result. The shown text is therefore
 * built from the events' indices, never by appending, and once the result is in it is the result's
 * text (the decoded ids) whatever arrives later. Events of an earlier run are told apart by `run`.
 */

export interface StreamedText {
  /** Which run of this answer the pieces belong to. */
  run: number;
  /** Text added by token i, at index i; holes are events that have not arrived yet. */
  pieces: readonly (string | undefined)[];
  /** The finished result's text; set once, after which token events change nothing. */
  final: string | null;
}

export function startStream(run: number): StreamedText {
  return { run, pieces: [], final: null };
}

/** Adds token `index`'s text; an event of another run, or one after the result, is ignored. */
export function addPiece(stream: StreamedText, run: number, index: number, text: string): StreamedText {
  if (run !== stream.run || stream.final !== null || !Number.isInteger(index) || index < 0) return stream;
  const pieces = stream.pieces.slice();
  pieces[index] = text;
  return { ...stream, pieces };
}

/** The result's text replaces whatever was streamed (same run only). */
export function finishStream(stream: StreamedText, run: number, text: string): StreamedText {
  return run === stream.run ? { ...stream, final: text } : stream;
}

/** The result's text, or while streaming the pieces up to the first that has not arrived yet. */
export function shownText(stream: StreamedText): string {
  if (stream.final !== null) return stream.final;
  let text = '';
  for (const piece of stream.pieces) {
    if (piece === undefined) break;
    text += piece;
  }
  return text;
}
