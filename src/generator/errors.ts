/**
 * Errors a user can meet while loading a parameter generator (and its safetensors files).
 *
 * One class per failure, in the style of WebLLM's `error.ts`: each message says what happened and
 * what to do about it. Every class extends {@link GeneratorError}, whose `code` lets the UI branch
 * without `instanceof` across the worker boundary (comlink clones errors to plain objects that keep
 * `name` and `message`; send `code` along explicitly if the UI needs it).
 */

export type GeneratorErrorCode =
  | 'safetensors-parse'
  | 'safetensors-encode'
  | 'generator-format'
  | 'missing-tensor'
  | 'tensor-shape'
  | 'tensor-dtype'
  | 'base-model-mismatch'
  | 'webcrypto-unavailable'
  | 'token-data'
  | 'generator-run';

/** Common base: `code` is stable and meant for program logic; `message` is meant for people. */
export abstract class GeneratorError extends Error {
  abstract readonly code: GeneratorErrorCode;

  constructor(message: string) {
    super(message);
  }
}

function formatShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/** The bytes of a safetensors file are not a valid safetensors file. */
export class SafetensorsParseError extends GeneratorError {
  override name = 'SafetensorsParseError';
  readonly code = 'safetensors-parse' as const;

  /**
   * @param file   name of the file being parsed (shown to the user)
   * @param detail what exactly is wrong
   * @param tensor the tensor the problem concerns, if any
   */
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly tensor?: string,
  ) {
    super(
      `${file} is not a valid safetensors file: ${tensor !== undefined ? `tensor "${tensor}": ` : ''}${detail}. ` +
        'The file is damaged, truncated, or not a safetensors file: download it again, or re-export it ' +
        'with the trainer (safetensors.torch.save_file).',
    );
  }
}

/** The arguments given to `encodeSafetensors` cannot be written as a safetensors file. */
export class SafetensorsEncodeError extends GeneratorError {
  override name = 'SafetensorsEncodeError';
  readonly code = 'safetensors-encode' as const;

  constructor(
    readonly detail: string,
    readonly tensor?: string,
  ) {
    super(
      `Cannot write safetensors: ${tensor !== undefined ? `tensor "${tensor}": ` : ''}${detail}. ` +
        'This is a bug in the code that builds the adapter; please report it.',
    );
  }
}

/** `generator.json` is missing a field, has a field of the wrong type, or is inconsistent. */
export class GeneratorFormatError extends GeneratorError {
  override name = 'GeneratorFormatError';
  readonly code = 'generator-format' as const;

  /**
   * @param path   the field path, e.g. `decoder.features[1]` (`(root)` for the whole document)
   * @param detail what is wrong with it
   * @param file   the manifest's file name
   */
  constructor(
    readonly path: string,
    readonly detail: string,
    readonly file = 'generator.json',
  ) {
    super(
      `${file}: field ${path}: ${detail}. This generator manifest cannot be used: re-export the ` +
        'generator with the trainer version that matches this app (manifest format "dnd-lora-generator", version 1 or 2).',
    );
  }
}

/** One or more tensors the manifest requires are not in the safetensors file. */
export class MissingTensorError extends GeneratorError {
  override name = 'MissingTensorError';
  readonly code = 'missing-tensor' as const;

  constructor(
    readonly file: string,
    readonly tensors: readonly string[],
  ) {
    const shown = tensors.slice(0, 8).map((t) => `"${t}"`).join(', ');
    const more = tensors.length > 8 ? ` and ${tensors.length - 8} more` : '';
    super(
      `${file} lacks ${tensors.length === 1 ? 'tensor' : `${tensors.length} tensors`} ${shown}${more} ` +
        'that generator.json requires. The safetensors file and the manifest do not belong together: ' +
        'load the generator.safetensors exported in the same run as this generator.json.',
    );
  }
}

/** A tensor exists but its shape is not the one the manifest implies. */
export class TensorShapeError extends GeneratorError {
  override name = 'TensorShapeError';
  readonly code = 'tensor-shape' as const;

  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(
      `${file}: tensor "${tensor}" has shape ${formatShape(actual)} but generator.json implies ` +
        `${formatShape(expected)}. The safetensors file and the manifest do not belong together: ` +
        'load the generator.safetensors exported in the same run as this generator.json.',
    );
  }
}

/** A tensor exists but is stored in a dtype this code path cannot use. */
export class TensorDtypeError extends GeneratorError {
  override name = 'TensorDtypeError';
  readonly code = 'tensor-dtype' as const;

  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly dtype: string,
    readonly allowed: readonly string[],
  ) {
    super(
      `${file}: tensor "${tensor}" is stored as ${dtype}, but only ${allowed.join(' / ')} can be used here. ` +
        'Re-export the generator in fp16 or fp32.',
    );
  }
}

/** The generator was trained for a different base model than the one loaded. */
export class BaseModelMismatchError extends GeneratorError {
  override name = 'BaseModelMismatchError';
  readonly code = 'base-model-mismatch' as const;

  constructor(
    readonly expectedId: string,
    readonly expectedSha256: string,
    readonly loadedSha256: string,
    readonly loadedId?: string,
  ) {
    const loaded = loadedId !== undefined ? `"${loadedId}" (weights sha256 ${loadedSha256})` : `weights with sha256 ${loadedSha256}`;
    super(
      `This generator was trained for base model "${expectedId}" (weights sha256 ${expectedSha256}), ` +
        `but the loaded base model is ${loaded}. A generated LoRA only fits the exact weights it was ` +
        `trained against: load base model "${expectedId}", or pick a generator trained for the loaded model.`,
    );
  }
}

/** `crypto.subtle` is missing, so the base model's weights cannot be hashed and checked. */
export class WebCryptoUnavailableError extends GeneratorError {
  override name = 'WebCryptoUnavailableError';
  readonly code = 'webcrypto-unavailable' as const;

  constructor() {
    super(
      'This page cannot check which base model a generator belongs to: the browser offers no crypto.subtle ' +
        '(it is only available on https:// or http://localhost pages). Open the app over https or from localhost.',
    );
  }
}

/** Generated token data (or its statistics) does not have the size the layout requires. */
export class TokenDataError extends GeneratorError {
  override name = 'TokenDataError';
  readonly code = 'token-data' as const;

  constructor(readonly detail: string) {
    super(`Generated LoRA tokens cannot be turned into matrices: ${detail}. This is a bug; please report it.`);
  }
}

/** The generator runtime was used in a way it cannot serve (wrong condition size, destroyed, ...). */
export class GeneratorRunError extends GeneratorError {
  override name = 'GeneratorRunError';
  readonly code = 'generator-run' as const;

  constructor(readonly detail: string) {
    super(`The generator cannot run: ${detail}.`);
  }
}
