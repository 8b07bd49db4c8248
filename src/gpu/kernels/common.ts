import type { Precision } from '../buffers';
import { KernelInputError, ShaderF16SupportError } from '../errors';
import type { PipelineCache, PipelineSpec } from '../pipelineCache';
import { pipelineKey } from '../pipelineCache';

/**
 * What every kernel wrapper produces from shapes alone (no buffers): the pipeline spec, its cache
 * key, and the dispatch size. Mirrors onnxruntime-web's ProgramInfo.
 */
export interface KernelProgram {
  spec: PipelineSpec;
  key: string;
  workgroups: readonly [number, number, number];
}

/**
 * A program bound to buffers: record it as often as needed (e.g. once per generation) into any
 * compute pass. Owns only its small uniform buffer(s); `destroy()` frees them.
 */
export interface PreparedDispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
  destroy(): void;
}

/** A tensor argument: a whole buffer or a byte range of one (GPUBufferBinding). */
export type TensorBinding = GPUBuffer | GPUBufferBinding;

export interface KernelContext {
  device: GPUDevice;
  cache: PipelineCache;
}

export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Splits a 1-D workgroup count into (x, y) so it fits the per-dimension limit. Shaders rebuild the
 * linear index as `wg.x + wg.y * num_workgroups.x` and skip the overshoot. */
export function linearGrid(workgroupCount: number): [number, number, number] {
  if (workgroupCount <= MAX_WORKGROUPS_PER_DIM) return [Math.max(1, workgroupCount), 1, 1];
  const y = Math.ceil(workgroupCount / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(workgroupCount / y), y, 1];
}

export function makeProgram(spec: PipelineSpec, workgroups: readonly [number, number, number]): KernelProgram {
  for (const n of workgroups) {
    if (n > MAX_WORKGROUPS_PER_DIM) {
      throw new KernelInputError(spec.label, `dispatch of ${workgroups.join(' x ')} workgroups exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
    }
  }
  return { spec, key: pipelineKey(spec), workgroups };
}

export function precisionDefines(precision: Precision): { F16: boolean } {
  return { F16: precision === 'f16' };
}

export function checkPrecision(kernel: string, precision: Precision, device: GPUDevice): void {
  if (precision === 'f16' && !device.features.has('shader-f16')) throw new ShaderF16SupportError(kernel);
}

function asBinding(t: TensorBinding): GPUBufferBinding {
  return 'buffer' in t ? t : { buffer: t };
}

/** Builds the pipeline (cached) and the bind group; bindings are given in @binding order. */
export function prepareDispatch(
  ctx: KernelContext,
  program: KernelProgram,
  bindings: readonly TensorBinding[],
  owned: readonly GPUBuffer[] = [],
): PreparedDispatch {
  const pipeline = ctx.cache.get(program.spec);
  const bindGroup = ctx.device.createBindGroup({
    label: program.spec.label,
    layout: pipeline.getBindGroupLayout(0),
    entries: bindings.map((b, binding) => ({ binding, resource: asBinding(b) })),
  });
  return {
    label: program.spec.label,
    pipeline,
    bindGroup,
    workgroups: program.workgroups,
    destroy: () => owned.forEach((b) => b.destroy()),
  };
}

/** Records one prepared dispatch into an open compute pass. */
export function recordDispatch(pass: GPUComputePassEncoder, dispatch: PreparedDispatch): void {
  pass.setPipeline(dispatch.pipeline);
  pass.setBindGroup(0, dispatch.bindGroup);
  pass.dispatchWorkgroups(dispatch.workgroups[0], dispatch.workgroups[1], dispatch.workgroups[2]);
}

/**
 * Records a sequence of dispatches in one compute pass of `encoder`. Within a pass WebGPU orders
 * storage writes before later dispatches' reads, so a whole cascade can go in one pass.
 */
export function recordSequence(
  encoder: GPUCommandEncoder,
  dispatches: readonly PreparedDispatch[],
  label = 'kernels',
  timestampWrites?: GPUComputePassTimestampWrites,
): void {
  const pass = encoder.beginComputePass({ label, ...(timestampWrites ? { timestampWrites } : {}) });
  for (const d of dispatches) recordDispatch(pass, d);
  pass.end();
}

/** Throws a KernelInputError unless every entry is a positive integer. */
export function requirePositiveIntegers(kernel: string, what: string, values: readonly number[]): void {
  if (!values.every((v) => Number.isInteger(v) && v > 0)) {
    throw new KernelInputError(kernel, `${what} must be positive integers, got [${values.join(', ')}]`);
  }
}

/** Throws unless `data` (when given) has exactly `expected` elements. */
export function requireLength(kernel: string, what: string, actual: number, expected: number, shape: string): void {
  if (actual !== expected) {
    throw new KernelInputError(kernel, `${what} has ${actual} elements, expected ${expected} for shape ${shape}`);
  }
}
