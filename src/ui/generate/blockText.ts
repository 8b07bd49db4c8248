import type { GeneratorBlock, GeneratorInfo } from '../../worker/engineClient';

function shape([n, h, w]: readonly number[]): string {
  return `${n} × ${h} × ${w}`;
}

/**
 * One line on what a decoder block computes, from the manifest's shapes (docs/hyperconv.md): a
 * layer norm, two orders of axis convolutions (W then H; H then W with tanh) averaged, and a
 * length convolution over N; residual when the shape does not change.
 */
export function blockSummary(block: GeneratorBlock): string {
  const [nIn] = block.input;
  const [nOut] = block.output;
  const k = `${block.kernel} × ${block.kernel}`;
  const length = nIn === nOut ? `keeps ${nOut} slices along N` : `maps ${nIn} slices along N to ${nOut}`;
  return (
    `(N × H × W) ${shape(block.input)} → ${shape(block.output)}, kernel ${k}: layer norm, then width-then-height and ` +
    `height-then-width convolutions averaged, then a length convolution that ${length}. ` +
    (block.residual ? 'Residual: the result is added to the block’s input.' : 'Not residual: the shape changes.')
  );
}

/** What the encode stage reads, from the manifest's window (docs/generator-manifest.md). */
export function encodeSummary(info: Pick<GeneratorInfo, 'window' | 'maxTokens' | 'maxInputTokens'>): string {
  return info.window === 'tail'
    ? `The base model reads each prompt (its last ${info.maxInputTokens} tokens); the final hidden states of the last ${info.maxTokens} form the condition.`
    : `The base model reads each prompt (its first ${info.maxTokens} tokens); its final hidden states form the condition.`;
}

/** What the apply stage does; a gated generator (prompts mode) or the validation gate (examples mode) also sets the adapter's strength there. */
export function applySummary(info: Pick<GeneratorInfo, 'gated'> | null, mode: 'prompts' | 'examples' = 'prompts'): string {
  const base = 'The matrices are copied into the base model’s LoRA inputs, read back for export, and registered.';
  if (mode === 'examples') return `${base} Every B matrix is multiplied by the strength the validation chose.`;
  return info?.gated ? `${base} The generator’s gate sets how strongly the adapter is applied.` : base;
}

/** What the gate stage measures: the validation gate (examples mode) or the answer feature (an "answer" gate). */
export function gateSummary(info: Pick<GeneratorInfo, 'examples'> | null, mode: 'prompts' | 'examples'): string {
  if (mode === 'examples') {
    const grid = (info?.examples?.grid ?? [0, 1]).map((s) => `${Math.round(s * 100)}%`).join(', ');
    return `The adapter at ${grid} strength reads answered rows of your set that are not in the condition (teacher-forced); the strength whose answers have the least loss per token is applied.`;
  }
  return 'The base model starts to answer each prompt, and the adapter reads the same start: how sure each is and how far they differ place your prompts among the generator’s training tasks, whose best strengths set this one.';
}

/** Milliseconds for people: "850 ms", "2.4 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}
