import { describe, expect, it } from 'vitest';

import {
  BaseModelMismatchError,
  GeneratorError,
  GeneratorFormatError,
  MissingTensorError,
  SafetensorsEncodeError,
  SafetensorsParseError,
  TensorDtypeError,
  TensorShapeError,
  TokenDataError,
  WebCryptoUnavailableError,
} from '../../src/generator/errors';

describe('generator errors', () => {
  const errors: GeneratorError[] = [
    new SafetensorsParseError('f.safetensors', 'bad', 't'),
    new SafetensorsEncodeError('bad', 't'),
    new GeneratorFormatError('lora.rank', 'bad'),
    new MissingTensorError('f.safetensors', ['a']),
    new TensorShapeError('f.safetensors', 't', [1], [2]),
    new TensorDtypeError('f.safetensors', 't', 'I32', ['F32']),
    new BaseModelMismatchError('base', 'a'.repeat(64), 'b'.repeat(64)),
    new WebCryptoUnavailableError(),
    new TokenDataError('bad'),
  ];

  it('share a base class, each with its own code and a name that survives minification', () => {
    const codes = new Set<string>();
    for (const e of errors) {
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(GeneratorError);
      expect(e.name).toBe(e.constructor.name);
      expect(e.message.length).toBeGreaterThan(40);
      codes.add(e.code);
    }
    expect(codes.size).toBe(errors.length);
  });

  it('list at most 8 missing tensors by name', () => {
    const e = new MissingTensorError('g.safetensors', Array.from({ length: 11 }, (_, i) => `t${i}`));
    expect(e.message).toContain('lacks 11 tensors "t0"');
    expect(e.message).toContain('"t7" and 3 more');
    expect(e.message).not.toContain('"t8"');
  });
});
