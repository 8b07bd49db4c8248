/** CPU references of every WGSL kernel: used by the kernel tests and as the app's CPU fallback. */
export { layerNormReference } from './layerNorm';
export { axisConvReference } from './axisConv';
export { combineReference, residualAddReference } from './elementwise';
export { detokenizeReference } from './detokenize';
export { loraMergeReference, loraMatmulReference } from './lora';
