import { useEffect, useRef } from 'react';
import { colorOf } from './colorScale';

export interface HeatmapCanvasProps {
  /** rows * cols values, row-major. */
  data: Float32Array;
  rows: number;
  cols: number;
  /** Colour range; defaults to the data's own min/max (symmetric around 0 when `diverging`). */
  min?: number;
  max?: number;
  /** Blue-white-red around 0 (weights, signed values) instead of a dark-to-bright sequential scale. */
  diverging?: boolean;
  /** Accessible name, e.g. "Block 2 output". */
  label: string;
  /** What rows and columns are, shown under the image. */
  caption?: string;
  /** CSS size of the square-ish image (the canvas keeps one pixel per cell and is scaled up). */
  size?: number;
  testId?: string;
}

/** A matrix drawn as a canvas image (one pixel per cell, scaled without smoothing), with a caption. */
export function HeatmapCanvas({ data, rows, cols, min, max, diverging = false, label, caption, size = 160, testId }: HeatmapCanvasProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [lo, hi] = range(data, min, max, diverging);

  useEffect(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context || rows <= 0 || cols <= 0) return;
    canvas.width = cols;
    canvas.height = rows;
    const image = context.createImageData(cols, rows);
    for (let i = 0; i < rows * cols; i++) {
      const [r, g, b] = colorOf(data[i] ?? 0, lo, hi, diverging);
      image.data[4 * i] = r;
      image.data[4 * i + 1] = g;
      image.data[4 * i + 2] = b;
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }, [data, rows, cols, lo, hi, diverging]);

  const aspect = rows > 0 && cols > 0 ? rows / cols : 1;
  return (
    <figure className="heatmap" data-testid={testId}>
      <canvas
        ref={canvasRef}
        role="img"
        aria-label={`${label}: ${rows} by ${cols}, values from ${fmt(lo)} to ${fmt(hi)}`}
        style={{ width: `${size}px`, height: `${Math.max(8, Math.round(size * Math.min(aspect, 2)))}px`, imageRendering: 'pixelated' }}
      />
      <figcaption>
        <span className="heatmap__label">{label}</span>
        {caption ? <span className="heatmap__caption"> · {caption}</span> : null}
        <span className="heatmap__range"> · {fmt(lo)} … {fmt(hi)}</span>
      </figcaption>
    </figure>
  );
}

function range(data: Float32Array, min: number | undefined, max: number | undefined, diverging: boolean): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) [lo, hi] = [0, 0];
  lo = min ?? lo;
  hi = max ?? hi;
  if (diverging) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return [-m, m];
  }
  return [lo, hi];
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2);
}
