/**
 * The CPU generator's graphs (src/generator/onnx/) on the app's onnxruntime-web, WebAssembly backend:
 * the same ORT runtime, thread pool and settings as the base model's session (src/model/session.ts),
 * so nothing more is downloaded or started for it.
 */
import { GeneratorRunError } from '../generator/errors';
import type { GraphSession, GraphSessionFactory } from '../generator/onnx/runtime';
import { describeError } from './errors';
import { GeneratorLoadError } from './generatedAdapter';
import { configureOrt, ort } from './session';

export const wasmGraphSession: GraphSessionFactory = async (model, { label, inputName, outputName }) => {
  configureOrt();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new GeneratorLoadError(`onnxruntime-web could not start its ${label} graph on WebAssembly (${describeError(e)})`, e);
  }
  const graph: GraphSession = {
    async run(input, dims) {
      const feed = new ort.Tensor('float32', input, dims);
      const out = await session.run({ [inputName]: feed }, [outputName]);
      const y = out[outputName];
      if (!y) throw new GeneratorRunError(`${label}: the graph returned no ${outputName}`);
      const data = y.data;
      if (!(data instanceof Float32Array)) throw new GeneratorRunError(`${label}: ${outputName} is ${y.type}, not float32`);
      return data;
    },
    release: () => session.release(),
  };
  return graph;
};
