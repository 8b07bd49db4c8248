import { describe, expect, it } from 'vitest';
import { extractPrompt } from '../../src/prompts/shapes';

describe('extractPrompt', () => {
  it('reads the shared datasets shape; an empty system means none', () => {
    expect(extractPrompt({ prompt: 'P', response: 'R', system: '' })).toEqual({ ok: true, prompt: 'P', response: 'R' });
    expect(extractPrompt({ prompt: 'P', system: 'S' })).toEqual({ ok: true, prompt: 'P', system: 'S' });
  });

  it('reads bare strings', () => {
    expect(extractPrompt('hello')).toEqual({ ok: true, prompt: 'hello' });
  });

  it('joins instruction and a non-empty input with a newline', () => {
    expect(extractPrompt({ instruction: 'Translate', input: 'Bonjour', output: 'Hello' })).toEqual({
      ok: true,
      prompt: 'Translate\nBonjour',
      response: 'Hello',
    });
    expect(extractPrompt({ instruction: 'Say hi', input: '  ' })).toEqual({ ok: true, prompt: 'Say hi' });
  });

  it('reads {question, answer} (numeric answers become text) and {text}', () => {
    expect(extractPrompt({ question: 'Q?', answer: 42 })).toEqual({ ok: true, prompt: 'Q?', response: '42' });
    expect(extractPrompt({ text: 'T' })).toEqual({ ok: true, prompt: 'T' });
  });

  it('reads chat messages: system, first user turn, the assistant turn after it', () => {
    const chat = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'assistant', content: 'ignored: before any user turn' },
        { role: 'user', content: 'First?' },
        { role: 'assistant', content: [{ type: 'text', text: 'One.' }] },
        { role: 'user', content: 'Second?' },
      ],
    };
    expect(extractPrompt(chat)).toEqual({ ok: true, prompt: 'First?', response: 'One.', system: 'Be brief.' });
  });

  it('reads ShareGPT conversations', () => {
    const share = { conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] };
    expect(extractPrompt(share)).toEqual({ ok: true, prompt: 'Hi', response: 'Hello' });
  });

  it('explains what is wrong with unusable values', () => {
    expect(extractPrompt(3)).toMatchObject({ ok: false, reason: 'is a number, not a prompt' });
    expect(extractPrompt(null)).toMatchObject({ ok: false, reason: 'is null, not a prompt' });
    expect(extractPrompt({ prompt: 5 })).toMatchObject({ ok: false, reason: 'has "prompt" as a number, not text' });
    expect(extractPrompt({ a: 1, b: 2 })).toMatchObject({ ok: false, reason: expect.stringContaining('keys: a, b') });
    expect(extractPrompt({ prompt: '  ' })).toMatchObject({ ok: false, code: 'empty-prompt' });
    expect(extractPrompt({ messages: [{ role: 'assistant', content: 'x' }] })).toMatchObject({ ok: false, reason: 'is a chat with no user message' });
  });
});
