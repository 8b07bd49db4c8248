import type { Backend, GeneratorBlock, GeneratorInfo } from '../../worker/engineClient';

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

/**
 * What the apply stage did on the backend in use (`backend`, the model's: EngineInfo.backend). On
 * WebGPU the generator leaves the LoRA in a GPU buffer: it is read back once (the copy kept for
 * export, inspection and this browser's storage) and the base model's LoRA inputs are written to GPU
 * buffers. On WebAssembly the matrices are already in memory and the inputs are CPU tensors made
 * from them: no GPU is involved. A gated generator (prompts mode) or the validation gate (examples
 * mode) also sets the adapter's strength there.
 */
export function applySummary(info: Pick<GeneratorInfo, 'gated'> | null, mode: 'prompts' | 'examples' = 'prompts', backend: Backend | null = null): string {
  const base =
    backend === 'webgpu'
      ? 'The matrices are read back from the GPU once (the copy kept for export, inspection and this browser’s storage), written into the base model’s LoRA inputs on the GPU, and registered.'
      : backend === 'wasm'
        ? 'Everything runs on the CPU here: the matrices, already in memory, are packed into the base model’s LoRA inputs (the same copy serves export, inspection and this browser’s storage) and registered.'
        : 'The matrices are packed into the base model’s LoRA inputs and registered.';
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

/**
 * A run's time as the status line and the result card both say it, each figure named: the stages'
 * own total (the stage list's times added up) and, unless the run paused, the time from pressing
 * Generate until the adapter was listed (the stages plus the messages around them).
 */
export function runTimeText(timing: { stagesMs: number; wallMs: number | null }): string {
  const stages = `the stages took ${formatMs(timing.stagesMs)}`;
  return timing.wallMs === null
    ? `${stages} (not counting the pauses)`
    : `${stages} (${formatMs(timing.wallMs)} from pressing Generate until the adapter was listed)`;
}
