// Training tasks in readable words (src/ui/generate/taskNames.ts): every task the committed release
// generator's gate can name is known (no raw id shown for it), the trainer's naming of synthetic
// tasks, datasets and sub-tasks reads as words, and an id the table does not know stays as it is.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readableTask, taskLabel } from '../../src/ui/generate/taskNames';

const release = JSON.parse(readFileSync('models/generator/generator.json', 'utf8')) as { training: { gate_tasks: string[] } };
const gateTasks = release.training.gate_tasks;

describe('readableTask', () => {
  it('knows every task of the release generator’s gate (352: 230 synthetic, 44 datasets, 78 sub-tasks)', () => {
    expect(gateTasks.length).toBe(352);
    const unknown = gateTasks.filter((id) => readableTask(id).what === null);
    expect(unknown).toEqual([]);
    const synthetic = gateTasks.filter((id) => id.startsWith('synth/'));
    expect(synthetic.length).toBe(230);
    expect(gateTasks.filter((id) => !id.startsWith('synth/') && !id.includes('/')).length).toBe(44);
  });

  it('never shows the raw id or its slugs in the words, and gives distinct tasks distinct labels', () => {
    const labels = gateTasks.map((id) => taskLabel(readableTask(id)));
    for (const [i, text] of labels.entries()) {
      expect(text).not.toContain('synth/');
      expect(text).not.toMatch(/\b(mcq[34]|one-zero|yes-no|true-false|digits-|words-hash|brackets$|-plain)\b/);
      expect(text, gateTasks[i]).not.toBe(gateTasks[i]);
    }
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('a synthetic task: its family and what it does, from the id’s parts', () => {
    expect(taskLabel(readableTask('synth/arith/mul-words-hash'))).toBe(
      'Arithmetic (synthetic): multiply two numbers, numbers written in words, answer “#### N”');
    expect(taskLabel(readableTask('synth/arith/story-sub-digits-worked'))).toBe(
      'Arithmetic (synthetic): a word problem where someone gives things away, numbers in digits, a worked line, then “The answer is N.”');
    expect(taskLabel(readableTask('synth/transform/first-three-quotes'))).toBe(
      'Rewriting words (synthetic): keep a sentence’s first three words, answer in "double quotes"');
    expect(taskLabel(readableTask('synth/transform/count-words-hash'))).toBe('Rewriting words (synthetic): count a sentence’s words, answer “#### N”');
    expect(taskLabel(readableTask('synth/label/tense-words'))).toBe('Labelling sentences (synthetic): is a sentence about the future? labels [future] / [past]');
    expect(taskLabel(readableTask('synth/label/digit-one-zero'))).toBe('Labelling sentences (synthetic): does a sentence contain a digit? labels [1] / [0]');
    expect(taskLabel(readableTask('synth/extract/city-label'))).toBe('Extracting fields (synthetic): the city out of a purchase sentence, as “City: …”');
    expect(taskLabel(readableTask('synth/extract/appointment-time-brackets'))).toBe(
      'Extracting fields (synthetic): the time out of an appointment sentence, in [square brackets]');
    expect(taskLabel(readableTask('synth/choice/odd-one-out-mcq3'))).toBe('Multiple choice (synthetic): which one does not belong? 3 options, answer “[B]”');
    expect(taskLabel(readableTask('synth/format/md-heading'))).toBe('Laying out text (synthetic): a short text as a Markdown heading: # text');
    expect(taskLabel(readableTask('synth/question/next-day'))).toBe(
      'Yes/no questions (synthetic): is a day the next day of the week? answered [True] / [False] with no instruction');
  });

  it('a dataset, an MMLU subject and a label pair', () => {
    expect(readableTask('GSM8K')).toEqual({ id: 'GSM8K', group: 'GSM8K', what: 'grade-school maths word problems, worked step by step' });
    expect(taskLabel(readableTask('MMLU-STEM/college-physics'))).toBe(
      'MMLU-STEM: exam questions in science, maths and engineering, multiple choice, college physics only');
    expect(taskLabel(readableTask('MMLU-Humanities/high-school-us-history'))).toContain('high school US history only');
    expect(taskLabel(readableTask('TREC/entity+human'))).toBe('TREC: what kind of answer a question asks for, only the labels “entity” and “human”');
    expect(taskLabel(readableTask('AG-News/business+sci-tech'))).toContain('only the labels “business” and “sci-tech”');
  });

  it('an id it does not know keeps its raw form (never a made-up description)', () => {
    for (const id of ['my-own-task', 'synth/arith/pow-digits-hash', 'synth/unknown/x', 'synth/arith', 'synth/arith/mul-words-hash/extra', 'GSM8K/', 'Unknown/a+b']) {
      expect(readableTask(id)).toEqual({ id, group: id, what: null });
      expect(taskLabel(readableTask(id))).toBe(id);
    }
  });
});
