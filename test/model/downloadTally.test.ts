import { describe, expect, it } from 'vitest';
import { bytesReceived, downloadKindOf, tallyDownloads, type ResourceSize } from '../../src/model/downloadTally';

const entry = (name: string, transferSize: number, encodedBodySize: number, responseStatus = 200): ResourceSize => ({ name, transferSize, encodedBodySize, responseStatus });

describe('downloadTally', () => {
  it('sorts responses into model files, WebAssembly and the rest', () => {
    expect(downloadKindOf('http://127.0.0.1:5173/tools/app/models/base/model.safetensors?sha256=ab')).toBe('model');
    expect(downloadKindOf('http://127.0.0.1:5173/assets/ort-wasm-simd-threaded.asyncify-abc.wasm')).toBe('wasm');
    expect(downloadKindOf('/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs?url')).toBe('page');
    expect(downloadKindOf('http://127.0.0.1:5173/examples/index.json')).toBe('page');
  });

  it('counts the body as sent; nothing from the HTTP cache or for a revalidation', () => {
    expect(bytesReceived(entry('a.js', 1300, 1000))).toBe(1000); // headers + compressed body
    expect(bytesReceived(entry('a.js', 0, 1000))).toBe(0); // from the HTTP cache
    expect(bytesReceived(entry('big.wasm', 300, 26_861_777))).toBe(0); // 304: headers only
    expect(bytesReceived(entry('tiny.js', 300, 120, 304))).toBe(0); // a 304 the browser names
  });

  it('sums a visit per kind and counts the responses that came over the network', () => {
    const tally = tallyDownloads([
      entry('/index.html', 900, 600),
      entry('/models/base/model.safetensors', 48_674_200, 48_673_865),
      entry('/assets/ort.wasm', 4_704_800, 4_704_500),
      entry('/assets/app.js', 0, 370_000),
      entry('/assets/old.js', 280, 90_000),
    ]);
    expect(tally).toEqual({ bytes: 600 + 48_673_865 + 4_704_500, byKind: { model: 48_673_865, wasm: 4_704_500, page: 600 }, responses: 4 });
  });
});
