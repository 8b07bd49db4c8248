import { WideTable } from '../WideTable';
import type { ModuleNorms } from '../../worker/engineClient';
import { formatNorm } from './format';

interface NormChartProps {
  layers: number;
  modules: readonly string[];
  /** Layer-major, layers x modules entries (Engine.adapterDetails). */
  norms: readonly ModuleNorms[];
}

const WIDTH = 150;
const HEIGHT = 72;
const AXIS = 14;

/**
 * ||ΔW||_F per layer and module as small multiples: one SVG bar chart per module (bars = layers),
 * all on one scale, so both "which layers change most" and "which modules" can be read. The same
 * numbers (with ||A|| and ||B||) are in a table under "Show the numbers".
 */
export function NormChart({ layers, modules, norms }: NormChartProps) {
  const tallest = Math.max(0, ...norms.map((n) => n.normDelta));
  const largest = norms.reduce<ModuleNorms | null>((best, n) => (best === null || n.normDelta > best.normDelta ? n : best), null);
  const total = Math.sqrt(norms.reduce((s, n) => s + n.normDelta * n.normDelta, 0));
  const slot = WIDTH / Math.max(1, layers);
  const byKey = new Map(norms.map((n) => [`${n.layer}.${n.module}`, n]));
  return (
    <figure className="norm-chart" data-testid="norm-chart" data-layers={layers} data-modules={modules.length}>
      <div className="norm-chart__panels">
        {modules.map((module) => (
          <div key={module} className="norm-chart__panel" data-testid="norm-panel" data-module={module}>
            <p className="norm-chart__title" aria-hidden="true">{module}</p>
            <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + AXIS}`} aria-hidden="true" focusable="false">
              {Array.from({ length: layers }, (_, layer) => {
                const n = byKey.get(`${layer}.${module}`);
                const value = n?.normDelta ?? 0;
                const height = value === 0 || tallest === 0 ? 0 : Math.max(1.5, (value / tallest) * (HEIGHT - 2));
                return (
                  <g key={layer}>
                    {n && !n.present ? (
                      // not adapted: a short dash on the axis, so "no change" is not read as a tiny bar
                      <line className="norm-chart__missing" x1={layer * slot + slot * 0.3} x2={layer * slot + slot * 0.7} y1={HEIGHT - 3} y2={HEIGHT - 3} />
                    ) : (
                      <rect
                        className="norm-chart__bar"
                        data-testid="norm-bar"
                        data-layer={layer}
                        data-module={module}
                        data-value={value}
                        x={layer * slot + 2}
                        y={HEIGHT - height}
                        width={Math.max(1, slot - 4)}
                        height={height}
                      >
                        <title>{`layer ${layer} ${module}: ||ΔW|| = ${formatNorm(value)}`}</title>
                      </rect>
                    )}
                    <text className="norm-chart__tick" x={layer * slot + slot / 2} y={HEIGHT + AXIS - 3} textAnchor="middle">
                      {layer}
                    </text>
                  </g>
                );
              })}
              <line x1={0} x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} className="norm-chart__axis" />
            </svg>
          </div>
        ))}
      </div>
      <figcaption>
        <p className="hint norm-chart__caption" data-testid="norm-summary">
          Bars: ||ΔW|| (Frobenius norm of the weight change scale·B·A) for each layer 0–{layers - 1} of each module, all on one
          scale (tallest {formatNorm(tallest)}).
          {largest && largest.normDelta > 0 ? ` Largest: layer ${largest.layer} ${largest.module}. ` : ' '}
          All layers together: {formatNorm(total)}.
          {norms.some((n) => !n.present) ? ' A dash on the axis: the adapter does not change that module.' : ''}
        </p>
        <details className="norm-chart__numbers">
          <summary>Show the numbers</summary>
          <WideTable label="Norms per layer and module">
            <table className="inspect-table" data-testid="norm-table">
              <caption className="visually-hidden">Norms per layer and module</caption>
              <thead>
                <tr>
                  <th scope="col">Layer</th>
                  <th scope="col">Module</th>
                  <th scope="col">Rank</th>
                  <th scope="col">||A||</th>
                  <th scope="col">||B||</th>
                  <th scope="col">||ΔW||</th>
                </tr>
              </thead>
              <tbody>
                {norms.map((n) => (
                  <tr key={`${n.layer}.${n.module}`} data-testid="norm-row">
                    <td>{n.layer}</td>
                    <th scope="row">{n.module}</th>
                    {n.present ? (
                      <>
                        <td>{n.rank}</td>
                        <td>{formatNorm(n.normA)}</td>
                        <td>{formatNorm(n.normB)}</td>
                        <td>{formatNorm(n.normDelta)}</td>
                      </>
                    ) : (
                      <td colSpan={4}>not changed by this adapter</td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </WideTable>
        </details>
      </figcaption>
    </figure>
  );
}
