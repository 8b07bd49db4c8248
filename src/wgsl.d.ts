// WGSL files are imported as source text (Vite and vitest both implement `?raw`).
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
