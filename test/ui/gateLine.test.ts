// The Generate tab's gate line (src/ui/generate/GateLine.tsx) rendered to HTML: the strength in plain
// words, the nearest training tasks, the "nothing it can help with" case at 0, nothing without a gate.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { GateLine, strengthText } from '../../src/ui/generate/GateLine';

const line = (gate: Parameters<typeof GateLine>[0]['gate']) => createElement(GateLine, { gate });
const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&#x27;|’/g, "'");

describe('GateLine', () => {
  it('says the strength and the nearest tasks in words, each with its raw id as a tooltip', () => {
    const html = renderToStaticMarkup(line({ value: 0.6249, neighbours: ['ARC-Easy', 'synth/arith/mul-words-hash', 'MMLU-STEM/college-physics'] }));
    expect(text(html)).toContain("Applied at 62% strength — your prompts are most like these of the generator's training tasks:");
    expect(html).toContain('data-strength="0.6249"');
    const items = [...html.matchAll(/<li title="([^"]+)" data-testid="gate-task">(.*?)<\/li>/g)].map((m) => [m[1], text(m[2] ?? '')]);
    expect(items).toEqual([
      ['ARC-Easy', 'ARC-Easy: grade-school science questions, multiple choice'],
      ['synth/arith/mul-words-hash', 'Arithmetic (synthetic): multiply two numbers, numbers written in words, answer “#### N”'],
      ['MMLU-STEM/college-physics', 'MMLU-STEM: exam questions in science, maths and engineering, multiple choice, college physics only'],
    ]);
    // the raw ids only as tooltips: never in the text
    expect(text(html.replace(/title="[^"]*"/g, ''))).not.toMatch(/synth\/|MMLU-STEM\/college-physics/);
    expect(text(html)).toContain('“Synthetic” tasks were made up by the trainer');
  });

  it('a task it cannot name in words is shown as it is, and no synthetic note without a synthetic task', () => {
    const html = renderToStaticMarkup(line({ value: 1, neighbours: ['my-own-task'] }));
    expect(html).toContain('<li title="my-own-task" data-testid="gate-task">my-own-task</li>');
    expect(text(html)).not.toContain('Synthetic');
  });

  it('at 0: nothing it can help with, the adapter equals the base model', () => {
    const out = text(renderToStaticMarkup(line({ value: 0, neighbours: ['TREC'] })));
    expect(out).toContain('The generator found nothing in these prompts it can help with');
    expect(out).toContain('it equals the base model');
    expect(out).not.toContain('Applied at');
  });

  it('no gate, no line', () => {
    expect(renderToStaticMarkup(line(null))).toBe('');
  });

  it('strengthText never rounds a non-zero strength to 0%, and says full at 1', () => {
    expect(strengthText(0.004)).toBe('under 1% strength');
    expect(strengthText(0.005)).toBe('1% strength');
    expect(strengthText(0.999)).toBe('100% strength');
    expect(strengthText(1)).toBe('full strength (100%)');
  });
});
