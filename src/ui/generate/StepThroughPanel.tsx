import { useEffect, useRef } from 'react';
import { cancelGeneration, continueGeneration, type StageRow } from '../../store/generation';
import type { GeneratorBlock } from '../../worker/engineClient';
import { HeatmapCanvas } from '../viz/HeatmapCanvas';
import { blockSummary } from './blockText';

interface StepThroughPanelProps {
  block: GeneratorBlock | undefined;
  stage: StageRow | undefined;
  blockCount: number;
}

/**
 * Shown while the engine waits after a decoder block (step-through): that block's output, what it
 * computes, and Next / Run to end / Cancel. Focus moves to Next so Enter steps on.
 */
export function StepThroughPanel({ block, stage, blockCount }: StepThroughPanelProps) {
  const next = useRef<HTMLButtonElement>(null);
  const layer = stage?.layer ?? null;
  useEffect(() => {
    next.current?.focus();
  }, [layer]);
  if (layer === null) return null;
  const last = layer === blockCount - 1;
  return (
    <section className="step-panel" aria-labelledby="step-panel-heading" data-testid="step-panel" data-layer={layer}>
      <h4 id="step-panel-heading">
        Paused after decoder block {layer} of {blockCount}
      </h4>
      {block && <p data-testid="step-explanation">{blockSummary(block)}</p>}
      {stage?.snapshot && (
        <HeatmapCanvas
          data={stage.snapshot.data}
          rows={stage.snapshot.rows}
          cols={stage.snapshot.cols}
          min={stage.snapshot.min}
          max={stage.snapshot.max}
          diverging
          label={`Block ${layer} output`}
          caption={`${stage.snapshot.describe}, mean-pooled`}
          size={240}
          testId="step-heatmap"
        />
      )}
      <p className="hint">The generator is really stopped here: the next block starts when you press Next.</p>
      <div className="button-row">
        <button ref={next} type="button" className="button button--primary" data-testid="step-next" onClick={() => void continueGeneration('next')}>
          {last ? 'Next: detokenise' : `Next: block ${layer + 1}`}
        </button>
        <button type="button" className="button" data-testid="step-run-to-end" onClick={() => void continueGeneration('to-end')}>
          Run to end
        </button>
        <button type="button" className="button button--quiet" data-testid="step-cancel" onClick={() => void cancelGeneration()}>
          Cancel
        </button>
      </div>
    </section>
  );
}
