/** Public surface of prompt reading: pure modules, usable in the page or in a worker. */
export * from './types';
export * from './errors';
export { decodePromptBytes, findInvalidLines, findInvalidUtf8, looksBinary } from './decode';
export type { DecodedText, InvalidLine } from './decode';
export { addSkipped, describeSkipped, describeWarnings, skippedTotal } from './skipped';
export { detectFormat, sniffFormat } from './detect';
export { extractPrompt } from './shapes';
export { parseText, detectTextSplit } from './parsers/text';
export { parseJsonl } from './parsers/jsonl';
export { parseJson } from './parsers/json';
export { listCsvColumns, parseCsv, detectHeader } from './parsers/csv';
export {
  approxTokenCount,
  createRng,
  dedupeKey,
  dedupeRecords,
  newSeed,
  sampleBatch,
  samplePrompts,
  summarizePrompts,
} from './summary';
export type { DedupeResult, HistogramBin, LengthStats, LengthUnit, PromptBatch, PromptSample, PromptSummary, SummaryOptions } from './summary';
export {
  PASTED_TEXT_NAME,
  promptFileFromBlob,
  readPastedText,
  readPastedTextAsync,
  readPromptFile,
  readPromptFileAsync,
} from './readPromptFile';
