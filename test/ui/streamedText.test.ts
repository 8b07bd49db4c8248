// The Compare answer's text (src/ui/model/streamedText.ts) under every order in which token events and
// the result can reach the page: pieces placed by index, only the unbroken start shown while
// streaming, the result's text once it is in (late events change nothing), events of an earlier run
// ignored. The pieces are those of a real answer that came out doubled before ("[sadness]adness]").
import { describe, expect, it } from 'vitest';
import { addPiece, finishStream, shownText, startStream, type StreamedText } from '../../src/ui/model/streamedText';

const PIECES = ['[', 's', 'adness', ']'];
const FINAL = '[sadness]';

type Message = { kind: 'token'; index: number } | { kind: 'result' };

function apply(stream: StreamedText, run: number, message: Message): StreamedText {
  return message.kind === 'token' ? addPiece(stream, run, message.index, PIECES[message.index]!) : finishStream(stream, run, FINAL);
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('streamed answer text', () => {
  it('shows the pieces in index order, stopping at the first missing one', () => {
    let s = startStream(1);
    s = addPiece(s, 1, 1, 's');
    expect(shownText(s)).toBe('');
    s = addPiece(s, 1, 0, '[');
    expect(shownText(s)).toBe('[s');
    s = addPiece(s, 1, 3, ']');
    expect(shownText(s)).toBe('[s');
    s = addPiece(s, 1, 2, 'adness');
    expect(shownText(s)).toBe(FINAL);
  });

  it('an empty piece (a character still incomplete) is not a gap', () => {
    let s = startStream(1);
    s = addPiece(s, 1, 0, '');
    s = addPiece(s, 1, 1, 'é');
    expect(shownText(s)).toBe('é');
  });

  it('in every order of the 4 token events and the result, ends as the result and only ever shows a prefix of it', () => {
    const messages: Message[] = [...PIECES.map((_, index) => ({ kind: 'token' as const, index })), { kind: 'result' }];
    const orders = permutations(messages);
    expect(orders).toHaveLength(120);
    for (const order of orders) {
      let s = startStream(7);
      for (const message of order) {
        s = apply(s, 7, message);
        expect(FINAL.startsWith(shownText(s))).toBe(true);
      }
      expect(shownText(s)).toBe(FINAL);
    }
  });

  it('keeps the result when token events come after it', () => {
    let s = finishStream(startStream(2), 2, FINAL);
    for (let i = 0; i < PIECES.length; i++) s = addPiece(s, 2, i, PIECES[i]!);
    expect(shownText(s)).toBe(FINAL);
  });

  it('ignores events and results of another run', () => {
    let s = startStream(3);
    s = addPiece(s, 2, 0, 'stale');
    s = finishStream(s, 2, 'stale result');
    expect(shownText(s)).toBe('');
    expect(s.final).toBeNull();
    s = addPiece(s, 3, 0, 'fresh');
    expect(shownText(s)).toBe('fresh');
  });

  it('ignores an index that is not a position', () => {
    const s = startStream(1);
    expect(addPiece(s, 1, -1, 'x')).toBe(s);
    expect(addPiece(s, 1, 0.5, 'x')).toBe(s);
  });
});
