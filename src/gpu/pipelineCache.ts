import { ShaderCompilationError } from './errors';
import { preprocessWgsl, type Defines } from './shaderSource';

/** Everything needed to build one compute pipeline; `key` identifies it in the cache. */
export interface PipelineSpec {
  /** Kernel name, used as label and in error messages. */
  label: string;
  /** Raw WGSL (before preprocessing). */
  source: string;
  defines: Defines;
  /** Values for the shader's `override` constants. */
  constants: Readonly<Record<string, number>>;
  entryPoint?: string;
}

export function pipelineKey(spec: PipelineSpec): string {
  const defines = Object.keys(spec.defines)
    .filter((k) => spec.defines[k])
    .sort()
    .join(',');
  const constants = Object.keys(spec.constants)
    .sort()
    .map((k) => `${k}=${spec.constants[k]}`)
    .join(',');
  return `${spec.label}|${spec.entryPoint ?? 'main'}|${defines}|${constants}`;
}

/**
 * Compiles each distinct (shader, defines, overrides) once per device. Pipelines use
 * `layout: 'auto'`; bind groups are made from `pipeline.getBindGroupLayout(0)`.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** Synchronous: compile errors surface as device validation errors (use error scopes). */
  get(spec: PipelineSpec): GPUComputePipeline {
    const key = pipelineKey(spec);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline(this.descriptor(spec));
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Like `get`, but compiles off the main thread and throws a ShaderCompilationError. */
  async getAsync(spec: PipelineSpec): Promise<GPUComputePipeline> {
    const key = pipelineKey(spec);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const descriptor = this.descriptor(spec);
    try {
      const pipeline = await this.device.createComputePipelineAsync(descriptor);
      this.pipelines.set(key, pipeline);
      return pipeline;
    } catch (cause) {
      const info = await descriptor.compute.module.getCompilationInfo();
      const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
      if (messages.length === 0) messages.push(cause instanceof Error ? cause.message : String(cause));
      throw new ShaderCompilationError(spec.label, messages);
    }
  }

  private descriptor(spec: PipelineSpec): GPUComputePipelineDescriptor {
    const code = preprocessWgsl(spec.source, spec.defines);
    let module = this.modules.get(code);
    if (!module) {
      module = this.device.createShaderModule({ label: spec.label, code });
      this.modules.set(code, module);
    }
    return {
      label: pipelineKey(spec),
      layout: 'auto',
      compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: { ...spec.constants } },
    };
  }
}
