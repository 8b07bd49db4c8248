import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// WGSL kernels live in shaders/*.wgsl and are imported with `?raw`.
// onnxruntime-web ships its own wasm/mjs; keep it out of dependency pre-bundling so its
// files are served as they are.
export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web', '@huggingface/transformers'] },
  server: { fs: { allow: ['.'] } },
  build: { target: 'es2022' },
});
