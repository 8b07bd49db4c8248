/** The project's WebGPU layer: device, buffers, pipeline cache, kernels, CPU references. */
export * from './errors';
export * from './device';
export * from './buffers';
export * from './shaderSource';
export * from './pipelineCache';
export * from './shapes';
export * from './timing';
export * from './kernels';
export * as reference from './reference';
