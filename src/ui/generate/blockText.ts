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

/** What the apply stage does; a gated generator also sets the adapter's strength there. */
export function applySummary(info: Pick<GeneratorInfo, 'gated'> | null): string {
  const base = 'The matrices are copied into the base model’s LoRA inputs, read back for export, and registered.';
  return info?.gated ? `${base} The generator’s gate sets how strongly the adapter is applied.` : base;
}

/** Milliseconds for people: "850 ms", "2.4 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}
