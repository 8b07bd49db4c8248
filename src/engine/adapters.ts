/**
 * The adapter registry as the engine offers it: import a PEFT adapter (a zip, or its two files),
 * export one as a PEFT zip, rename, and the inspector's views (src/model/adapterStats.ts): norms per
 * layer and module, pooled A / B / dW heatmaps, the cosine similarity of two adapters. Listing and
 * removing are the registry's own calls (src/model/adapters.ts); generated adapters are registered
 * by src/engine/adapterGeneration.ts.
 */
import {
  parsePeftAdapter, parsePeftZip, zipPeftAdapter, type AdapterSource, type AdapterSummary,
} from '../model/adapters';
import { HEATMAP_SIDE, adapterNorms, compareDeltas, loraPair, poolDelta, poolMatrix, type Pooling } from '../model/adapterStats';
import { BadRequestError } from '../model/errors';
import type { Loaded } from './session';
import type { AdapterComparison, AdapterDetails, AdapterMatrixViews } from './types';

/** What these calls need of a load: the registry and the adapters' shape. */
type Registered = Pick<Loaded, 'registry' | 'shape'>;

/**
 * Imports a PEFT adapter: a zip of adapter_config.json + adapter_model.safetensors. `source`
 * 'generated' keeps the label of an adapter generated here, saved and imported again after a reload.
 */
export function importAdapter(loaded: Registered, zip: Uint8Array, name: string, source: AdapterSource): AdapterSummary {
  const { registry, shape } = loaded;
  return registry.add({ ...parsePeftZip(zip, shape, name), source });
}

/** Imports a PEFT adapter from its two files. */
export function importAdapterFiles(loaded: Registered, configJson: string, safetensors: Uint8Array, name: string): AdapterSummary {
  const { registry, shape } = loaded;
  return registry.add(parsePeftAdapter(configJson, safetensors, shape, name));
}

/** The adapter as a PEFT zip (adapter_config.json + adapter_model.safetensors). */
export function exportAdapter(loaded: Registered, id: string): Uint8Array {
  const { registry, shape } = loaded;
  return zipPeftAdapter(registry.get(id), shape);
}

export function renameAdapter(loaded: Registered, id: string, name: string): AdapterSummary {
  const trimmed = name.trim();
  if (trimmed === '') throw new BadRequestError('An adapter needs a name.');
  return loaded.registry.rename(id, trimmed);
}

/** Frobenius norms of A, B and dW = scale · B·A for every layer and target module of the model. */
export function adapterDetails(loaded: Registered, id: string): AdapterDetails {
  const { registry, shape } = loaded;
  const adapter = registry.get(id);
  return { ...registry.summary(id), layers: shape.layers, modules: [...shape.targets], norms: adapterNorms(adapter, shape.layers, shape.targets) };
}

/**
 * A, B and dW of one layer and module pooled to at most 64 x 64 cells ('max-abs' keeps the
 * signed value of largest magnitude per block, 'mean' averages). A selection the model or the
 * adapter does not have is a `bad-request` that says so.
 */
export function adapterMatrices(loaded: Registered, id: string, layer: number, module: string, pooling: Pooling): AdapterMatrixViews {
  const { registry, shape } = loaded;
  const adapter = registry.get(id);
  if (!Number.isInteger(layer) || layer < 0 || layer >= shape.layers) {
    throw new BadRequestError(`Layer ${layer} does not exist: the base model has layers 0-${shape.layers - 1}.`);
  }
  if (!shape.targets.includes(module)) {
    throw new BadRequestError(`"${module}" is not one of this model's LoRA modules (${shape.targets.join(', ')}).`);
  }
  if (pooling !== 'mean' && pooling !== 'max-abs') throw new BadRequestError(`Pooling must be "mean" or "max-abs", got "${String(pooling)}".`);
  const pair = loraPair(adapter, layer, module);
  if (!pair) throw new BadRequestError(`Adapter "${adapter.name}" does not change layer ${layer} ${module} (it has no LoRA matrices there), so there is nothing to draw.`);
  return {
    id, layer, module, rank: pair.a.rows, scale: pair.scale,
    a: poolMatrix(pair.a, pooling, HEATMAP_SIDE), b: poolMatrix(pair.b, pooling, HEATMAP_SIDE), delta: poolDelta(pair, pooling, HEATMAP_SIDE),
  };
}

/** Cosine similarity of two adapters' dW per layer and module, per layer and overall (ranks may differ). */
export function compareAdapters(loaded: Registered, firstId: string, secondId: string): AdapterComparison {
  const { registry, shape } = loaded;
  const first = registry.get(firstId);
  const second = registry.get(secondId);
  const names: [string, string] = [`"${first.name}"`, `"${second.name}"`];
  return {
    ...compareDeltas(first, second, shape.layers, shape.targets, names),
    first: { id: firstId, name: first.name }, second: { id: secondId, name: second.name },
    targets: [...shape.targets], layerCount: shape.layers,
  };
}
