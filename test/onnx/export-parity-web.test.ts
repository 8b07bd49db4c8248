/**
 * The exported ONNX files in onnxruntime-web (the browser runtime), in Node:
 * - the WASM execution provider (the no-WebGPU fallback), fp32;
 * - the WebGPU execution provider on a Dawn device (the `webgpu` package; SwiftShader on machines
 *   without a GPU, as `npm run test:unit` sets up through scripts/with-swiftshader.sh), fp32 — and
 *   fp16 where the adapter has `shader-f16` (SwiftShader has not). The WebGPU case runs the product's
 *   data path: our own GPUDevice handed to ORT, LoRA A/B fed as GPU buffers with
 *   `Tensor.fromGpuBuffer`, the KV cache kept on the GPU between steps (`gpu-buffer` outputs).
 * Same fixture, cases and tolerances as export-parity.test.ts (see parity.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web/webgpu';
import { create, globals } from 'webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptyPastSpecs, exportToTemp, FIXTURE, FP16_TOLERANCE, FP32_TOLERANCE, loadFixture, loraSpecs, logitsOf, peftName,
  prefillAndDecode, pythonUnavailable, relativeError, stepSpecs, type FeedSpec, type FeedSpecs, type Precision,
  type Runner,
} from './parity';

interface GpuProbe {
  device?: GPUDevice;
  f16: boolean;
  reason?: string;
}

/**
 * Node only: onnxruntime-web uploads with `queue.writeBuffer(buffer, offset, view)` where `view` lies
 * in its WebAssembly memory, a SharedArrayBuffer; Dawn's Node binding rejects such views with
 * "Invalid argument" (browsers accept them). Copy them to an ordinary buffer first.
 */
function copySharedMemoryOnWriteBuffer(queue: GPUQueue): void {
  const proto = Object.getPrototypeOf(queue) as GPUQueue;
  const original = proto.writeBuffer;
  proto.writeBuffer = function writeBuffer(
    this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number,
  ): undefined {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const elementSize = 'BYTES_PER_ELEMENT' in data && typeof data.BYTES_PER_ELEMENT === 'number' ? data.BYTES_PER_ELEMENT : 1;
      const start = (dataOffset ?? 0) * elementSize;
      const length = size === undefined ? data.byteLength - start : size * elementSize;
      const copy = new Uint8Array(data.buffer, data.byteOffset + start, length).slice();
      return original.call(this, buffer, offset, copy);
    }
    return original.call(this, buffer, offset, data, dataOffset, size);
  };
}

/** A Dawn WebGPU device, installed as navigator.gpu for onnxruntime-web, or why there is none. */
async function probeWebGpu(): Promise<GpuProbe> {
  try {
    Object.assign(globalThis, globals);
    const gpu = create([]) as unknown as GPU;
    const adapter = await gpu.requestAdapter();
    if (adapter === null) {
      return { f16: false, reason: 'no WebGPU adapter (run through scripts/with-swiftshader.sh, e.g. npm run test:unit)' };
    }
    const f16 = adapter.features.has('shader-f16');
    const device = await adapter.requestDevice({
      requiredFeatures: f16 ? ['shader-f16'] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
      },
    });
    copySharedMemoryOnWriteBuffer(device.queue);
    const nav = ((globalThis as { navigator?: object }).navigator ??= {});
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    return { device, f16 };
  } catch (e) {
    return { f16: false, reason: `WebGPU unavailable: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** SwiftShader runs the real model's WebGPU cases in 40-90 s each; leave room on a busy CI machine. */
const SLOW_TEST_MS = 600_000;

const pyReason = pythonUnavailable();
const probe = pyReason === undefined ? await probeWebGpu() : { f16: false, reason: pyReason };
const gpuReason = pyReason ?? probe.reason;

function toTensor(spec: FeedSpec): ort.Tensor {
  switch (spec.type) {
    case 'int64':
      return new ort.Tensor('int64', spec.data, spec.dims);
    case 'float32':
      return new ort.Tensor('float32', spec.data, spec.dims);
    case 'float16':
      return new ort.Tensor('float16', spec.data, spec.dims);
  }
}

describe.skipIf(pyReason !== undefined)(
  `ONNX export parity with PyTorch, onnxruntime-web${pyReason ? ` (skipped: ${pyReason})` : ''}`,
  () => {
    const loaded = loadFixture();
    const { fx, expected, lora } = loaded;
    const errors: Record<string, number> = {};
    const sessions: ort.InferenceSession[] = [];
    const buffers: GPUBuffer[] = [];
    const kvOnGpu = new Set<ort.InferenceSession>();
    let outDir = '';

    beforeAll(async () => {
      ({ outDir } = exportToTemp(fx, true));
      ort.env.wasm.numThreads = 1;
      ort.env.logLevel = 'error';
    }, 900_000);

    afterAll(async () => {
      for (const s of sessions) await s.release();
      for (const b of buffers) b.destroy();
      if (outDir) rmSync(outDir, { recursive: true, force: true });
      console.log(`ONNX parity (onnxruntime-web ${ort.env.versions.web ?? '?'}, fixture ${FIXTURE}), ` +
        `relative max error max|onnx-torch|/max|torch|:\n${JSON.stringify(errors, null, 1)}`);
    });

    async function open(file: string, ep: 'wasm' | 'webgpu', keepKvOnGpu = false): Promise<ort.InferenceSession> {
      const options: ort.InferenceSession.SessionOptions = { executionProviders: [ep] };
      if (ep === 'webgpu' && probe.device !== undefined) {
        // onnxruntime-web 1.31-dev (native WebGPU EP) takes an application device from the EP
        // option `device` (not declared in its typings); `env.webgpu.device = ...` is overwritten
        // with a device of its own, so GPU buffers made on ours would be rejected.
        const withDevice: ort.InferenceSession.WebGpuExecutionProviderOption & { device: GPUDevice } = {
          name: 'webgpu',
          device: probe.device,
        };
        options.executionProviders = [withDevice];
      }
      if (keepKvOnGpu) {
        const where: Record<string, 'gpu-buffer' | 'cpu'> = { logits: 'cpu' };
        for (let l = 0; l < fx.num_hidden_layers; l++) {
          where[`present.${l}.key`] = 'gpu-buffer';
          where[`present.${l}.value`] = 'gpu-buffer';
        }
        options.preferredOutputLocation = where;
      }
      const s = await ort.InferenceSession.create(readFileSync(join(outDir, file)), options);
      sessions.push(s);
      if (keepKvOnGpu) kvOnGpu.add(s);
      return s;
    }

    /** `fixed` feeds (already tensors, e.g. GPU-buffer LoRA weights) are added to every step. */
    function runnerOf(s: ort.InferenceSession, fixed: Record<string, ort.Tensor> = {}): Runner<ort.Tensor> {
      return async (specs, past) => {
        const feeds: Record<string, ort.Tensor> = { ...past, ...fixed };
        for (const [name, spec] of Object.entries(specs)) feeds[name] = toTensor(spec);
        const out = (await s.run(feeds)) as Record<string, ort.Tensor>;
        if (kvOnGpu.has(s)) expect(out['present.0.key']?.location).toBe('gpu-buffer');
        const logits = out.logits;
        if (logits !== undefined && logits.location !== 'cpu') await logits.getData();
        return out;
      };
    }

    async function check(label: string, run: Runner<ort.Tensor>, precision: Precision, variant: 'base' | 'lora', extra: FeedSpecs) {
      const [prefill, decode] = await prefillAndDecode(loaded, run, precision, variant, extra);
      errors[`${label} prefill`] = prefill;
      errors[`${label} decode`] = decode;
      const tol = precision === 'float32' ? FP32_TOLERANCE : FP16_TOLERANCE;
      expect(prefill).toBeLessThan(tol);
      expect(decode).toBeLessThan(tol);
    }

    /** The fixture's LoRA as GPU buffers on our device, wrapped with Tensor.fromGpuBuffer. */
    function gpuLora(device: GPUDevice, scale: number): Record<string, ort.Tensor> {
      const feeds: Record<string, ort.Tensor> = {};
      const upload = (name: string, values: Float32Array, dims: readonly number[]) => {
        const buffer = device.createBuffer({
          size: Math.max(16, Math.ceil(values.byteLength / 16) * 16),
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        });
        device.queue.writeBuffer(buffer, 0, new Float32Array(values));
        buffers.push(buffer);
        feeds[name] = ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
      };
      for (let l = 0; l < fx.num_hidden_layers; l++) {
        for (const m of fx.lora_targets) {
          for (const ab of ['A', 'B']) {
            const name = peftName(l, m, ab);
            upload(`lora.${l}.${m}.${ab}`, lora.float32(name), lora.info(name).shape);
          }
        }
      }
      upload('lora_scale', Float32Array.of(scale), [1]);
      return feeds;
    }

    it('WASM EP: model.onnx and model_lora.onnx (base and random LoRA) match PyTorch (fp32)', async () => {
      await check('wasm model.onnx base', runnerOf(await open('model.onnx', 'wasm')), 'float32', 'base', {});
      const withLora = runnerOf(await open('model_lora.onnx', 'wasm'));
      await check('wasm model_lora.onnx lora', withLora, 'float32', 'lora', loraSpecs(fx, lora, 'float32', fx.lora_scale));
      await check('wasm model_lora.onnx base (lora_scale 0)', withLora, 'float32', 'base', loraSpecs(fx, lora, 'float32', 0));
    }, SLOW_TEST_MS);

    describe.skipIf(gpuReason !== undefined)(`WebGPU EP${gpuReason ? ` (skipped: ${gpuReason})` : ''}`, () => {
      it('model.onnx matches PyTorch (fp32), KV cache kept on the GPU between steps', async () => {
        const s = await open('model.onnx', 'webgpu', true);
        await check('webgpu model.onnx base', runnerOf(s), 'float32', 'base', {});
      }, SLOW_TEST_MS);

      it('model_lora.onnx with LoRA weights in GPU buffers (fromGpuBuffer) matches PyTorch; scale 0 is the base', async () => {
        const device = probe.device;
        if (device === undefined) throw new Error('no device');
        const s = await open('model_lora.onnx', 'webgpu', true);
        await check('webgpu model_lora.onnx lora (GPU-buffer A/B)', runnerOf(s, gpuLora(device, fx.lora_scale)), 'float32', 'lora', {});
        await check('webgpu model_lora.onnx base (lora_scale 0)', runnerOf(s, gpuLora(device, 0)), 'float32', 'base', {});
        // switching back and forth on one session: only the fed tensors change
        const { prefill } = fx.cases;
        const step = { ...stepSpecs(prefill), ...emptyPastSpecs(fx, 'float32', prefill.input_ids.length) };
        const adapted = logitsOf(await runnerOf(s, gpuLora(device, fx.lora_scale))(step, {})).data;
        expect(relativeError(adapted, expected.float32('lora.prefill'), prefill.attention_mask, fx.vocab_size)).toBeLessThan(FP32_TOLERANCE);
      }, SLOW_TEST_MS);

      it.skipIf(!probe.f16)(`fp16 files match PyTorch within the fp16 tolerance${probe.f16 ? '' : ' (skipped: adapter has no shader-f16)'}`, async () => {
        await check('webgpu model_fp16.onnx base', runnerOf(await open('model_fp16.onnx', 'webgpu')), 'float16', 'base', {});
        await check('webgpu model_lora_fp16.onnx lora', runnerOf(await open('model_lora_fp16.onnx', 'webgpu')), 'float16', 'lora',
          loraSpecs(fx, lora, 'float16', fx.lora_scale));
      }, SLOW_TEST_MS);
    });
  },
);
