import { defineConfig } from 'vitest/config';
import { modelsPlugin } from './scripts/vite-models-plugin.ts';

// Unit and kernel tests run in Node. Kernel tests get a real WebGPU device from Dawn
// (the `webgpu` package) on SwiftShader; see test/setup/webgpu.ts.
export default defineConfig({
  // virtual:dnd-model-manifest (the page's model-file hashes) for modules that import it
  plugins: [modelsPlugin({ precompress: false })],
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
