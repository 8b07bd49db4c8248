/** Small helpers for the prompt-reading tests: every fixture is generated here, none copied. */
import type { PromptFileInput } from '../../src/prompts/types';

export function fileOf(name: string, content: string | Uint8Array | number[]): PromptFileInput {
  const bytes =
    typeof content === 'string'
      ? new TextEncoder().encode(content)
      : content instanceof Uint8Array
        ? content
        : Uint8Array.from(content);
  return { name, bytes };
}

export function jsonl(values: unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join('\n') + '\n';
}
