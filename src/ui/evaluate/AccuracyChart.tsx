import type { Accuracy } from '../../evaluate/scoring';

interface Bar {
  key: string;
  label: string;
  value: Accuracy;
}

const WIDTH = 360;
const BAR_HEIGHT = 34;
const GAP = 18;
const LABEL_WIDTH = 110;
const VALUE_WIDTH = 64;
const TOP = 8;
const AXIS = 26;

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/**
 * Base vs adapted accuracy as horizontal bars with the numbers written out and ±1 standard error
 * whiskers. The SVG is an image with a full text alternative; the same numbers sit beside it as text.
 */
export function AccuracyChart({ bars, n }: { bars: readonly Bar[]; n: number }) {
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = TOP + bars.length * (BAR_HEIGHT + GAP) + AXIS;
  const x = (v: number) => LABEL_WIDTH + Math.max(0, Math.min(1, v)) * plot;
  const description = bars
    .map((b) => `${b.label}: ${percent(b.value.accuracy)} (${b.value.correct} of ${b.value.n} right, standard error ${percent(b.value.standardError)})`)
    .join('; ');
  return (
    <figure className="accuracy-chart" data-testid="accuracy-chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={`Accuracy on ${n} items. ${description}.`} preserveAspectRatio="xMinYMin meet">
        <title>{`Accuracy on ${n} items. ${description}.`}</title>
        {[0, 0.25, 0.5, 0.75, 1].map((t) => (
          <g key={t} aria-hidden="true">
            <line className="accuracy-chart__grid" x1={x(t)} x2={x(t)} y1={TOP - 4} y2={height - AXIS + 4} />
            <text className="accuracy-chart__tick" x={x(t)} y={height - 8} textAnchor="middle">
              {t * 100}%
            </text>
          </g>
        ))}
        {bars.map((b, i) => {
          const y = TOP + i * (BAR_HEIGHT + GAP);
          const mid = y + BAR_HEIGHT / 2;
          const lo = x(b.value.accuracy - b.value.standardError);
          const hi = x(b.value.accuracy + b.value.standardError);
          return (
            <g key={b.key} data-testid={`accuracy-bar-${b.key}`} data-accuracy={b.value.accuracy} data-correct={b.value.correct} data-n={b.value.n}>
              <text className="accuracy-chart__label" x={LABEL_WIDTH - 8} y={mid} textAnchor="end" dominantBaseline="middle">
                {b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label}
              </text>
              <rect className={`accuracy-chart__bar accuracy-chart__bar--${b.key}`} x={LABEL_WIDTH} y={y} width={Math.max(1, x(b.value.accuracy) - LABEL_WIDTH)} height={BAR_HEIGHT} rx={3} />
              {b.value.n > 0 && b.value.standardError > 0 && (
                <g className="accuracy-chart__whisker" aria-hidden="true">
                  <line x1={lo} x2={hi} y1={mid} y2={mid} />
                  <line x1={lo} x2={lo} y1={mid - 6} y2={mid + 6} />
                  <line x1={hi} x2={hi} y1={mid - 6} y2={mid + 6} />
                </g>
              )}
              <text className="accuracy-chart__value" x={WIDTH - VALUE_WIDTH + 8} y={mid} dominantBaseline="middle">
                {percent(b.value.accuracy)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="hint">
        Bars: share of the {n} {n === 1 ? 'item' : 'items'} answered right; whiskers: ±1 binomial standard error.
      </figcaption>
    </figure>
  );
}
