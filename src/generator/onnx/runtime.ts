/**
 * The generator on the CPU, fast: each decoder layer as an ONNX graph made from the manifest
 * (src/generator/onnx/layerGraphs.ts), run by onnxruntime-web's WebAssembly backend (SIMD kernels,
 * threads when the page is cross-origin isolated), the same runtime that runs the base model; then
 * the reference detokenisation (a few hundred thousand multiply-adds). The result has the shape of
 * the TypeScript reference's run (src/generator/referenceRuntime.ts), which stays the oracle it is
 * tested against (test/generator/onnxRuntime.test.ts).
 *
 * No onnxruntime import here: the caller hands in a `GraphSessionFactory` (the engine: the app's
 * onnxruntime-web, src/model/generatorSessions.ts; the Node tests: onnxruntime-web in Node).
 */
import { GeneratorRunError } from '../errors';
import type { LoadedGenerator } from '../loadGenerator';
import { detokenizeReference } from '../loraLayout';
import type { ReferenceRun } from '../referenceRuntime';
import { buildLayerGraphs, LAYER_INPUT, LAYER_OUTPUT, type LayerGraph } from './layerGraphs';

/** One ONNX graph with one float32 input and one float32 output, ready to run. */
export interface GraphSession {
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Starts a session for a graph (`model`: ModelProto bytes; `inputName` / `outputName`: its I/O). */
export type GraphSessionFactory = (model: Uint8Array, io: { label: string; inputName: string; outputName: string }) => Promise<GraphSession>;

interface LayerSession {
  graph: LayerGraph;
  session: GraphSession;
}

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export class OnnxGeneratorRuntime {
  private released = false;
  /** The token statistics (count, h, w), float32 once. */
  private readonly mean: Float32Array;
  private readonly std: Float32Array;

  private constructor(
    readonly generator: LoadedGenerator,
    readonly batch: number,
    private readonly layers: LayerSession[],
  ) {
    const { manifest, weights } = generator;
    this.mean = weights.float32(manifest.tokens.mean);
    this.std = weights.float32(manifest.tokens.std);
  }

  /** Builds every layer's graph and starts its session (sessions started so far are released on failure). */
  static async create(generator: LoadedGenerator, factory: GraphSessionFactory, batch = 1): Promise<OnnxGeneratorRuntime> {
    if (!Number.isInteger(batch) || batch < 1) throw new GeneratorRunError(`batch must be a positive integer, got ${batch}`);
    const layers: LayerSession[] = [];
    try {
      for (const graph of buildLayerGraphs(generator, { batch })) {
        const session = await factory(graph.model, { label: `generator layer ${graph.index}`, inputName: LAYER_INPUT, outputName: LAYER_OUTPUT });
        layers.push({ graph, session });
      }
    } catch (e) {
      await Promise.allSettled(layers.map((l) => l.session.release()));
      throw e;
    }
    return new OnnxGeneratorRuntime(generator, batch, layers);
  }

  get layerCount(): number {
    return this.layers.length;
  }

  /**
   * Runs the decoder on `condition` (B, P, L, C) layer by layer, then detokenises. `onLayer` is
   * awaited after each layer (progress, snapshots, step-through); `signal` is checked before each.
   */
  async run(
    condition: Float32Array,
    onLayer?: (layer: number, ms: number, output: Float32Array) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<ReferenceRun> {
    if (this.released) throw new GeneratorRunError('this generator runtime was released; load the generator again');
    const first = this.layers[0]?.graph.input ?? [];
    if (condition.length !== count(first)) {
      throw new GeneratorRunError(`the condition has ${condition.length} values; (B, P, L, C) needs ${count(first)}`);
    }
    let x = condition;
    const outputs: Float32Array[] = [];
    for (const { graph, session } of this.layers) {
      if (signal?.aborted) throw signal.reason ?? new DOMException('Generation cancelled', 'AbortError');
      const t0 = performance.now();
      x = await session.run(x, graph.input);
      if (x.length !== count(graph.output)) {
        throw new GeneratorRunError(`layer ${graph.index} returned ${x.length} values; (${graph.output.join(', ')}) needs ${count(graph.output)}`);
      }
      outputs.push(x);
      await onLayer?.(graph.index, performance.now() - t0, x);
    }
    return { layers: outputs, lora: this.detokenize(x) };
  }

  /** Per batch element: PEFT name -> matrix, un-normalised (t · std + mean), as the reference does. */
  private detokenize(tokens: Float32Array): Map<string, Float32Array>[] {
    const { layout } = this.generator;
    const per = layout.tokenCount * layout.tokenHeight * layout.tokenWidth;
    const out: Map<string, Float32Array>[] = [];
    for (let b = 0; b < this.batch; b++) out.push(detokenizeReference(tokens.subarray(b * per, (b + 1) * per), this.mean, this.std, layout));
    return out;
  }

  /**
   * One run on a zero condition, so the first generation a person asks for does not pay for
   * onnxruntime's first-run work (buffer arenas, the WebAssembly engine optimising its kernels).
   * Returns how long it took.
   */
  async warmUp(): Promise<number> {
    const t0 = performance.now();
    let x: Float32Array = new Float32Array(count(this.layers[0]?.graph.input ?? []));
    for (const { graph, session } of this.layers) x = await session.run(x, graph.input);
    return performance.now() - t0;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled(this.layers.map((l) => l.session.release()));
  }
}
