/**
 * Loads and validates a generator (`generator.json` + `generator.safetensors`) before anything
 * touches the GPU, so every format problem reaches the user as one readable error.
 */
import { checkBaseModelHash, checkGeneratorTensors, parseGeneratorManifest, type GeneratorManifest } from './manifest';
import { layoutFromManifest, type LoraTokenLayout } from './loraLayout';
import { parseSafetensors, type SafetensorsFile } from './safetensors';
import { GeneratorFormatError } from './errors';
import { readGateTable, type GateTable } from './gate';

export interface LoadedGenerator {
  manifest: GeneratorManifest;
  weights: SafetensorsFile;
  layout: LoraTokenLayout;
  /** Version 2's kNN gate (src/generator/gate.ts); null: every adapter is applied in full. */
  gate: GateTable | null;
  /** Tensors in the file the manifest does not use (harmless; shown as a console line). */
  warnings: string[];
}

export interface GeneratorFiles {
  /** Raw `generator.json` text or its parsed value. */
  manifest: string | unknown;
  /** `generator.safetensors` bytes. */
  weights: ArrayBuffer | Uint8Array;
  weightsFileName?: string;
}

export interface BaseModelIdentity {
  id?: string;
  /** SHA-256 (hex) of the loaded base model's `model.safetensors`. */
  weightsSha256: string;
}

/**
 * Parses and cross-checks the two files. With `base`, also refuses a generator trained for another
 * base model (DESIGN §4). Throws the typed errors of `./errors`.
 */
export function loadGenerator(files: GeneratorFiles, base?: BaseModelIdentity): LoadedGenerator {
  let json: unknown = files.manifest;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new GeneratorFormatError('(file)', `is not valid JSON: ${(e as Error).message}`);
    }
  }
  const manifest = parseGeneratorManifest(json);
  const weights = parseSafetensors(files.weights, files.weightsFileName ?? 'generator.safetensors');
  const { warnings } = checkGeneratorTensors(manifest, weights);
  if (base) checkBaseModelHash(manifest, base.weightsSha256, base.id);
  return { manifest, weights, layout: layoutFromManifest(manifest), gate: readGateTable(manifest, weights), warnings };
}
