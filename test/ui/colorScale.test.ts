import { describe, expect, it } from 'vitest';
import { colorOf } from '../../src/ui/viz/colorScale';

describe('heatmap colour scale', () => {
  it('maps the ends and the middle of a diverging range to blue, white and red', () => {
    expect(colorOf(-1, -1, 1, true)).toEqual([5, 48, 97]);
    expect(colorOf(0, -1, 1, true)).toEqual([247, 247, 247]);
    expect(colorOf(1, -1, 1, true)).toEqual([103, 0, 31]);
  });
  it('clamps values outside the range and survives an empty range or NaN', () => {
    expect(colorOf(5, 0, 1, false)).toEqual([240, 249, 33]);
    expect(colorOf(-5, 0, 1, false)).toEqual([13, 8, 135]);
    expect(colorOf(3, 3, 3, false)).toEqual(colorOf(0.5, 0, 1, false));
    expect(colorOf(Number.NaN, 0, 1, false)).toEqual([13, 8, 135]);
  });
});
