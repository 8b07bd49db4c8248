import { defineConfig } from 'vitest/config';

// Unit and kernel tests run in Node. Kernel tests get a real WebGPU device from Dawn
// (the `webgpu` package) on SwiftShader; see test/setup/webgpu.ts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
