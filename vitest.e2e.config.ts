import { defineConfig } from 'vitest/config';

// End-to-end tests: the production build served on localhost, driven in Debian's headless
// Chromium (WebGPU on SwiftShader) through playwright-core.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['e2e/globalSetup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
