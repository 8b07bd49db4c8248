// Where an adapter came from, as the Adapters tab and Compare say it (src/ui/model/format.ts):
// examples mode is named, prompts mode and older records read as before.
import { describe, expect, it } from 'vitest';
import { describeOrigin } from '../../src/ui/model/format';

describe('describeOrigin', () => {
  it('names examples mode; prompts mode, records from before the mode existed and imports read as before', () => {
    expect(describeOrigin({ kind: 'generated', promptSet: 'headlines.jsonl', at: null, mode: 'examples', condition: [] }))
      .toBe('Generated from headlines.jsonl with its answers (examples mode)');
    expect(describeOrigin({ kind: 'generated', promptSet: 'arc.jsonl', at: null, mode: 'prompts' })).toBe('Generated from arc.jsonl');
    expect(describeOrigin({ kind: 'generated', promptSet: null, at: null })).toBe('Generated here');
    expect(describeOrigin({ kind: 'imported', file: 'tutor.zip', at: null })).toBe('Imported from tutor.zip');
  });
});
