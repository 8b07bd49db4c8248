import type { HistogramBin } from '../../prompts/summary';
import { formatCount, plural } from './format';

interface LengthHistogramProps {
  bins: readonly HistogramBin[];
  total: number;
}

const WIDTH = 320;
const HEIGHT = 120;

/**
 * Prompt lengths as plain SVG bars, with a text table for screen readers. The bins (src/prompts
 * summary.ts) start at the shortest prompt and end at the longest, so the axis spans the data.
 */
export function LengthHistogram({ bins, total }: LengthHistogramProps) {
  const tallest = Math.max(1, ...bins.map((bin) => bin.count));
  const barWidth = bins.length > 0 ? WIDTH / bins.length : WIDTH;
  const first = bins[0];
  const last = bins[bins.length - 1];
  return (
    <figure className="histogram" data-testid="length-histogram">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} aria-hidden="true" focusable="false" preserveAspectRatio="none">
        {bins.map((bin, index) => {
          const height = bin.count === 0 ? 0 : Math.max(2, (bin.count / tallest) * (HEIGHT - 4));
          return (
            <rect
              key={index}
              className="histogram__bar"
              x={index * barWidth + 1}
              y={HEIGHT - height}
              width={Math.max(1, barWidth - 2)}
              height={height}
            >
              <title>{`${describeBin(bin)}: ${formatCount(bin.count)}`}</title>
            </rect>
          );
        })}
        <line x1={0} x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} className="histogram__axis" />
      </svg>
      {first && last && (
        <div className="histogram__scale" aria-hidden="true">
          <span>{formatCount(first.from)}</span>
          <span>characters</span>
          <span>{formatCount(last.to - 1)}</span>
        </div>
      )}
      <figcaption className="visually-hidden">
        <table>
          <caption>Prompt lengths in characters, {plural(total, 'prompt')}</caption>
          <thead>
            <tr>
              <th scope="col">Length</th>
              <th scope="col">Prompts</th>
            </tr>
          </thead>
          <tbody>
            {bins.map((bin, index) => (
              <tr key={index}>
                <td>{describeBin(bin)}</td>
                <td>{formatCount(bin.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </figcaption>
    </figure>
  );
}

/** Bins are [from, to): the last length in a bin is to - 1. */
function describeBin(bin: HistogramBin): string {
  const last = bin.to - 1;
  return last === bin.from ? `${formatCount(bin.from)} characters` : `${formatCount(bin.from)}–${formatCount(last)} characters`;
}
