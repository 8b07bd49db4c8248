import { describe, expect, it } from 'vitest';
import { describeKinds } from '../../src/ui/model/DownloadSize';
import { formatBytes } from '../../src/ui/prompts/format';

describe('sizes in SI units', () => {
  it('formats bytes as network panels and hosting bills do (1 MB = 10^6 bytes)', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.0 kB');
    expect(formatBytes(822_600)).toBe('822.6 kB');
    expect(formatBytes(59_497_167)).toBe('59.5 MB');
    expect(formatBytes(100_007_565)).toBe('100.0 MB');
  });

  it('names the parts of a download that are not empty', () => {
    expect(describeKinds({ bytes: 57_081_597, byKind: { model: 51_998_312, wasm: 4_704_500, page: 378_785 }, responses: 17 }))
      .toBe('52.0 MB of model files, 4.7 MB of onnxruntime WebAssembly and 378.8 kB of scripts and page');
    expect(describeKinds({ bytes: 1923, byKind: { model: 0, wasm: 0, page: 1923 }, responses: 2 })).toBe('1.9 kB of scripts and page');
  });
});
