/**
 * A real WebGPU device for kernel tests in Node: Dawn from the `webgpu` package, on SwiftShader
 * when run through scripts/with-swiftshader.sh (as `npm run test:unit` does). One device per test
 * file (vitest runs files in separate processes).
 */
import { create, globals } from 'webgpu';
import { acquireDevice, type GpuContext } from '../../src/gpu/device';
import { PipelineCache } from '../../src/gpu/pipelineCache';
import type { KernelContext } from '../../src/gpu/kernels/common';

export interface TestGpu extends GpuContext, KernelContext {}

let pending: Promise<TestGpu> | undefined;
// Dawn tears its instance down when the GPU object is garbage-collected, taking the device with it
// (crashes mid-test); hold it for the life of the process.
let gpuInstance: GPU | undefined;

/** Installs the WebGPU globals (GPUBufferUsage, ...) and returns the shared test device. */
export function getTestDevice(): Promise<TestGpu> {
  pending ??= (async () => {
    Object.assign(globalThis, globals);
    gpuInstance = create([]) as unknown as GPU;
    const ctx = await acquireDevice(gpuInstance);
    ctx.device.addEventListener('uncapturederror', (event) => {
      // Surfaces validation errors that escaped an error scope instead of losing them in Dawn's log.
      console.error('WebGPU uncaptured error:', (event as GPUUncapturedErrorEvent).error.message);
    });
    return { ...ctx, cache: new PipelineCache(ctx.device) };
  })();
  return pending;
}
