/** One typed wrapper per WGSL kernel: validate, describe (program + cache key), prepare, record. */
export * from './common';
export * from './layerNorm';
export * from './axisConv';
export * from './elementwise';
export * from './detokenize';
export * from './lora';
