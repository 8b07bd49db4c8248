// The model files' sizes and hashes, written by scripts/vite-models-plugin.ts when the dev server or
// the build starts (src/model/modelFiles.ts).
declare module 'virtual:dnd-model-manifest' {
  const manifest: import('./model/modelFiles').ModelManifest;
  export default manifest;
}
