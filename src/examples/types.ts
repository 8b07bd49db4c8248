/**
 * The example prompt files the app offers: one per held-out task of the zoo (tasks no training
 * adapter saw), served as `examples/index.json` + `examples/<Task>.jsonl` by the Vite plugin in
 * scripts/vite-examples-plugin.ts from the datasets folder at dev/build time (never committed).
 */

export interface ExampleEntry {
  /** Task name as in the datasets manifest, e.g. "ARC-Easy". */
  task: string;
  /** The manifest's kind: "mcq", "yesno", "math", "classification", ... */
  kind: string;
  /** Path of the JSONL file, relative to the app's base URL, e.g. "examples/ARC-Easy.jsonl". */
  file: string;
  /** Lines in the served file (the first lines of the test split, at most `maxLines`). */
  count: number;
  /** Lines in the whole test split. */
  testLines: number;
  /** The manifest's license line, shown beside the button. */
  license: string;
}

export interface ExampleSkipped {
  task: string;
  reason: string;
}

export type ExamplesIndex =
  | { available: true; maxLines: number; examples: ExampleEntry[]; skipped: ExampleSkipped[] }
  | { available: false; reason: string; examples: []; skipped: [] };

/** Where the index is served, relative to the app's base URL. */
export const EXAMPLES_INDEX_PATH = 'examples/index.json';
