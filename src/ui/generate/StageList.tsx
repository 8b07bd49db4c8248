import type { StageRow } from '../../store/generation';
import type { Backend, GeneratorInfo } from '../../worker/engineClient';
import { HeatmapCanvas } from '../viz/HeatmapCanvas';
import { applySummary, blockSummary, encodeSummary, formatMs, gateSummary } from './blockText';

const DETOKENIZE_HELP = 'The last block’s grid of tokens is un-normalised and cut into the LoRA A and B matrices.';

/** The one-line help of a stage that is not a decoder block, from the loaded generator's manifest, the run's mode and the backend. */
function stageHelp(key: string, info: GeneratorInfo | null, mode: 'prompts' | 'examples', backend: Backend | null): string {
  if (key === 'encode') return info ? encodeSummary(info) : '';
  if (key === 'gate') return gateSummary(info, mode);
  if (key === 'apply') return applySummary(info, mode, backend);
  return key === 'detokenize' ? DETOKENIZE_HELP : '';
}

interface StageListProps {
  stages: readonly StageRow[];
  info: GeneratorInfo | null;
  /** The block the run waits after (step-through), highlighted. */
  pausedLayer: number | null;
  /** The run's condition: prompts, or prompts with their answers (examples mode). */
  mode?: 'prompts' | 'examples';
  /** Where the model runs (the apply stage says what happened there); null: not known. */
  backend?: Backend | null;
}

/** The stages in order, each with its state and measured time; decoder blocks show their output. */
export function StageList({ stages, info, pausedLayer, mode = 'prompts', backend = null }: StageListProps) {
  return (
    <ol className="stage-list" data-testid="stage-list">
      {stages.map((stage) => {
        const block = stage.layer !== null ? info?.blocks[stage.layer] : undefined;
        const current = stage.state === 'running' || (pausedLayer !== null && stage.layer === pausedLayer);
        return (
          <li
            key={stage.key}
            className={`stage stage--${stage.state}${current ? ' stage--current' : ''}`}
            data-testid="stage"
            data-stage={stage.key}
            data-state={stage.state}
            aria-current={current ? 'step' : undefined}
          >
            <div className="stage__head">
              <span className="stage__marker" aria-hidden="true">
                {stage.state === 'done' ? '✓' : stage.state === 'running' ? '▶' : '○'}
              </span>
              <span className="stage__label">{stage.label}</span>
              <span className="stage__time" data-testid="stage-time">
                {stage.ms !== null ? formatMs(stage.ms) : stage.state === 'running' ? 'running…' : ''}
              </span>
              <span className="visually-hidden">{stage.state === 'done' ? ', done' : stage.state === 'running' ? ', running' : ', waiting'}</span>
            </div>
            <p className="stage__help">{block ? blockSummary(block) : stageHelp(stage.key, info, mode, backend)}</p>
            {stage.snapshot && (
              <HeatmapCanvas
                data={stage.snapshot.data}
                rows={stage.snapshot.rows}
                cols={stage.snapshot.cols}
                min={stage.snapshot.min}
                max={stage.snapshot.max}
                diverging
                label={`Block ${stage.layer ?? ''} output`}
                caption={`${stage.snapshot.describe}, mean-pooled`}
                size={144}
                testId="stage-heatmap"
              />
            )}
          </li>
        );
      })}
    </ol>
  );
}
