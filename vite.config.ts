import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { examplesPlugin } from './scripts/vite-examples-plugin.ts';
import { modelsPlugin } from './scripts/vite-models-plugin.ts';

// base './': every URL in the build is relative, so dist/ runs from any sub-path of any static host.
// WGSL kernels live in shaders/*.wgsl and are imported with `?raw`.
// onnxruntime-web ships its own wasm/mjs; keep it out of dependency pre-bundling so its
// files are served as they are. `include` lists what the dev server would otherwise only discover
// when a worker first imports it (papaparse in the prompts worker, fflate in the engine worker): a late discovery re-bundles
// and reloads the page on the first visit.
// examplesPlugin: examples/index.json + examples/<Task>.jsonl from the datasets folder
// (DND_DATASETS, default ../shared/datasets), for the Prompts screen's "Examples" buttons.
// modelsPlugin: models/ (the committed weights, web graphs, tokenizer, generator) served and copied
// into the build with their hashes, and the cross-origin isolation headers (docs/hosting.md).
// DND_MODELS_DIR serves another folder of the same layout (base/, generator/) instead, e.g. a
// generator trained elsewhere (e2e/examplesMode.e2e.ts builds one with a random-weight stand-in).
export default defineConfig({
  base: './',
  plugins: [react(), examplesPlugin(), modelsPlugin({ modelsDir: process.env.DND_MODELS_DIR || undefined })],
  worker: { format: 'es' },
  // the workers' dependencies, named so the dev server bundles them at start (not on first use,
  // which reloads the page mid-load)
  optimizeDeps: { include: ['fflate', 'papaparse', 'comlink'], exclude: ['onnxruntime-web', '@huggingface/transformers'] },
  server: { fs: { allow: ['.'] } },
  build: { target: 'es2022' },
});
