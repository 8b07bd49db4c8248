import { describe, expect, it } from 'vitest';
import { applyStage, defaultAdapterName, nextAdapterName, stageRows, stagesTotal, uniqueAdapterName } from '../../src/store/generation';
import { applySummary, blockSummary, encodeSummary, formatMs, runTimeText } from '../../src/ui/generate/blockText';
import type { GeneratorInfo } from '../../src/worker/engineClient';

// The release generator's decoder (models/generator/generator.json).
const INFO: GeneratorInfo = {
  promptCount: 8,
  maxTokens: 32,
  window: 'head',
  maxInputTokens: 32,
  gated: false,
  gateFeature: null,
  examples: null,
  rank: 8,
  targetModules: ['q_proj'],
  blocks: [
    { index: 0, input: [8, 32, 512], output: [16, 16, 128], kernel: 1, residual: false },
    { index: 1, input: [16, 16, 128], output: [64, 16, 64], kernel: 3, residual: false },
    { index: 2, input: [64, 16, 64], output: [64, 16, 64], kernel: 1, residual: true },
  ],
};

const heatmap = { rows: 2, cols: 2, data: new Float32Array([0, 1, 2, 3]), min: 0, max: 3, describe: 'layer 0' };

describe('generation stages', () => {
  it('lists encode, every block, detokenise and apply, all pending', () => {
    const rows = stageRows(INFO);
    expect(rows.map((r) => r.key)).toEqual(['encode', 'block-0', 'block-1', 'block-2', 'detokenize', 'apply']);
    expect(rows.every((r) => r.state === 'pending' && r.ms === null)).toBe(true);
    expect(rows[0]?.label).toBe('Encode 8 prompts');
  });

  it('a gate stage before apply when sizing runs the model: examples mode (validation) or an answer gate', () => {
    expect(stageRows({ ...INFO, gateFeature: 'condition' }).map((r) => r.key)).not.toContain('gate');
    const answer = stageRows({ ...INFO, gated: true, gateFeature: 'answer' });
    expect(answer.map((r) => r.key).slice(-2)).toEqual(['gate', 'apply']);
    expect(answer.at(-2)?.label).toBe('Measure how the model answers');
    const examples = stageRows({ ...INFO, examples: { validationRows: 16, grid: [0, 1] } }, 'examples');
    expect(examples.map((r) => r.key).slice(-3)).toEqual(['detokenize', 'gate', 'apply']);
    expect(examples[0]?.label).toBe('Encode 8 prompts with their answers');
    expect(examples.at(-2)?.label).toBe('Validate on your other answers');
    const done = applyStage(examples, { stage: 'gate', ms: 12, layer: null });
    expect(done.find((r) => r.key === 'gate')).toMatchObject({ state: 'done', ms: 12 });
    expect(done.find((r) => r.key === 'apply')?.state).toBe('running');
  });

  it('marks a finished stage done with its time and heatmap and the next one running', () => {
    let rows = stageRows(INFO);
    rows = applyStage(rows, { stage: 'encode', ms: 31_000, layer: null });
    expect(rows[0]).toMatchObject({ state: 'done', ms: 31_000 });
    expect(rows[1]?.state).toBe('running');
    rows = applyStage(rows, { stage: 'layer 0', ms: 12, layer: 0, snapshot: heatmap });
    expect(rows[1]).toMatchObject({ state: 'done', ms: 12, snapshot: heatmap });
    expect(rows[2]?.state).toBe('running');
  });

  it('leaves the next stage pending while the engine is paused after a block', () => {
    const rows = applyStage(stageRows(INFO), { stage: 'layer 0', ms: 5, layer: 0, snapshot: heatmap, paused: true });
    expect(rows[1]?.state).toBe('done');
    expect(rows[2]?.state).toBe('pending');
  });

  it('ignores a stage it does not know', () => {
    const rows = stageRows(INFO);
    expect(applyStage(rows, { stage: 'mystery', ms: 1, layer: null })).toEqual(rows);
  });
});

describe('names and explanations', () => {
  it('names the adapter after the prompt set without its extension', () => {
    expect(defaultAdapterName('arc-easy.jsonl')).toBe('arc-easy (generated)');
    expect(defaultAdapterName('Pasted prompts')).toBe('Pasted prompts (generated)');
    expect(defaultAdapterName('.csv')).toBe('prompts (generated)');
  });

  it('gives every run a name of its own: the default and typed names avoid names taken', () => {
    const taken = ['arc (generated)', 'arc (generated 2)', 'tutor'];
    expect(defaultAdapterName('arc.jsonl', taken)).toBe('arc (generated 3)');
    expect(uniqueAdapterName('tutor', taken)).toBe('tutor 2');
    expect(uniqueAdapterName('new one', taken)).toBe('new one');
  });

  it('uses a typed name only for the set it was typed for', () => {
    const arc = { id: 'set-1', name: 'arc.jsonl' };
    const obqa = { id: 'set-2', name: 'obqa.csv' };
    const draft = { setId: 'set-1', name: '  science tutor ' };
    expect(nextAdapterName(draft, arc, [])).toBe('science tutor');
    expect(nextAdapterName(draft, obqa, [])).toBe('obqa (generated)');
    expect(nextAdapterName({ setId: 'set-1', name: '   ' }, arc, ['arc (generated)'])).toBe('arc (generated 2)');
    expect(nextAdapterName(null, arc, [])).toBe('arc (generated)');
  });

  it('explains a block from its shapes, kernel and residual', () => {
    expect(blockSummary(INFO.blocks[0]!)).toMatch(/^\(N × H × W\) 8 × 32 × 512 → 16 × 16 × 128, kernel 1 × 1: .*maps 8 slices along N to 16\. Not residual/);
    expect(blockSummary(INFO.blocks[2]!)).toMatch(/keeps 64 slices along N\. Residual/);
    expect(encodeSummary(INFO)).toBe('The base model reads each prompt (its first 32 tokens); its final hidden states form the condition.');
    expect(encodeSummary({ ...INFO, window: 'tail', maxInputTokens: 128 })).toBe(
      'The base model reads each prompt (its last 128 tokens); the final hidden states of the last 32 form the condition.',
    );
    expect(applySummary(INFO)).not.toMatch(/gate/);
    expect(applySummary({ ...INFO, gated: true })).toMatch(/gate sets how strongly the adapter is applied/);
  });

  it('says what the apply stage did on the backend in use: GPU read-back and buffers on WebGPU, none on the CPU', () => {
    const gpu = applySummary(INFO, 'prompts', 'webgpu');
    expect(gpu).toMatch(/read back from the GPU once/);
    expect(gpu).toMatch(/LoRA inputs on the GPU/);
    const cpu = applySummary(INFO, 'prompts', 'wasm');
    expect(cpu).toMatch(/^Everything runs on the CPU here: the matrices, already in memory, are packed into the base model’s LoRA inputs/);
    expect(cpu).not.toMatch(/GPU|read back|copied/);
    // unknown backend: only what is true on both
    expect(applySummary(INFO)).toBe('The matrices are packed into the base model’s LoRA inputs and registered.');
    expect(applySummary({ ...INFO, gated: true }, 'prompts', 'wasm')).toMatch(/CPU.*gate sets how strongly the adapter is applied\.$/);
    expect(applySummary(INFO, 'examples', 'webgpu')).toMatch(/GPU.*Every B matrix is multiplied by the strength the validation chose\.$/);
  });

  it('formats times', () => {
    expect(formatMs(12.4)).toBe('12 ms');
    expect(formatMs(31_250)).toBe('31.3 s');
  });

  it('names each figure of a run’s time: the stages’ total, and from pressing Generate (none for a run that paused)', () => {
    const rows = stageRows(INFO).map((r, i) => ({ ...r, ms: i === 0 ? null : 100 * i }));
    expect(stagesTotal(rows)).toBe(100 + 200 + 300 + 400 + 500);
    expect(runTimeText({ stagesMs: 1_820, wallMs: 1_940 })).toBe('the stages took 1.8 s (1.9 s from pressing Generate until the adapter was listed)');
    expect(runTimeText({ stagesMs: 850, wallMs: null })).toBe('the stages took 850 ms (not counting the pauses)');
  });
});
