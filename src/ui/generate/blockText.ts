import type { GeneratorBlock } from '../../worker/engineClient';

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

/** Milliseconds for people: "850 ms", "2.4 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}
