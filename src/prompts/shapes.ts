/**
 * Turning one parsed JSON value (a JSONL line or a JSON array item) into a prompt record.
 * Shapes, in the order they are tried:
 *   chat      { messages: [{ role, content }] }  (also ShareGPT { conversations: [{ from, value }] })
 *   dataset   { prompt, response?, system? }     (the shape of ../shared/datasets)
 *   alpaca    { instruction, input?, output? }   prompt = instruction + "\n" + input
 *   qa        { question, answer? }
 *   plain     { text } / { input } / { query }, or a bare string
 */

export interface ExtractedPrompt {
  ok: true;
  prompt: string;
  response?: string;
  system?: string;
}

export interface ExtractFailure {
  ok: false;
  /** 'empty-prompt' when a prompt field exists but is blank. */
  code: 'skipped-item' | 'empty-prompt';
  /** Reads after "line 5 " / "item 5 ", e.g. "is a number". */
  reason: string;
}

export type ExtractResult = ExtractedPrompt | ExtractFailure;

type JsonObject = Record<string, unknown>;

const RESPONSE_KEYS = ['response', 'completion', 'output', 'answer', 'chosen', 'target'] as const;
const PLAIN_PROMPT_KEYS = ['text', 'input', 'query', 'content'] as const;

export function extractPrompt(value: unknown): ExtractResult {
  if (typeof value === 'string') return finish(value, undefined, undefined);
  if (!isObject(value)) return skipped(`is ${describeJsonType(value)}, not a prompt`);

  if (Array.isArray(value.messages)) return fromChat(value.messages, 'role', 'content');
  if (Array.isArray(value.conversations)) return fromChat(value.conversations, 'from', 'value');

  const system = optionalText(value.system);
  if ('prompt' in value) {
    return withText(value, 'prompt', (prompt) => finish(prompt, responseOf(value), system));
  }
  if ('instruction' in value) {
    return withText(value, 'instruction', (instruction) => {
      const input = optionalText(value.input);
      const prompt = input && input.trim() ? `${instruction}\n${input}` : instruction;
      return finish(prompt, responseOf(value), system);
    });
  }
  if ('question' in value) {
    return withText(value, 'question', (question) => finish(question, responseOf(value), system));
  }
  for (const key of PLAIN_PROMPT_KEYS) {
    if (key in value) return withText(value, key, (text) => finish(text, responseOf(value), system));
  }
  const keys = Object.keys(value);
  return skipped(
    keys.length === 0
      ? 'is an empty object'
      : `has no prompt field (keys: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''})`,
  );
}

/** First user turn = prompt, the assistant turn after it = response, a system turn = system. */
function fromChat(turns: unknown[], roleKey: string, contentKey: string): ExtractResult {
  let system: string | undefined;
  let prompt: string | undefined;
  let response: string | undefined;
  for (const turn of turns) {
    if (!isObject(turn)) continue;
    const role = typeof turn[roleKey] === 'string' ? (turn[roleKey] as string).toLowerCase() : '';
    const content = chatContent(turn[contentKey]);
    if (content === undefined) continue;
    if (role === 'system' && system === undefined && prompt === undefined) system = content;
    else if ((role === 'user' || role === 'human') && prompt === undefined) prompt = content;
    else if (ASSISTANT_ROLES.has(role) && prompt !== undefined) {
      response = content;
      break;
    }
  }
  if (prompt === undefined) return skipped('is a chat with no user message');
  return finish(prompt, response, system);
}

const ASSISTANT_ROLES = new Set(['assistant', 'gpt', 'bot', 'model']);

/** Content is a string, or (OpenAI style) a list of parts of which the text parts count. */
function chatContent(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content
    .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : undefined))
    .filter((text): text is string => text !== undefined);
  return texts.length > 0 ? texts.join('\n') : undefined;
}

function withText(
  value: JsonObject,
  key: string,
  build: (text: string) => ExtractResult,
): ExtractResult {
  const field = value[key];
  if (typeof field !== 'string') return skipped(`has "${key}" as ${describeJsonType(field)}, not text`);
  return build(field);
}

function responseOf(value: JsonObject): string | undefined {
  for (const key of RESPONSE_KEYS) {
    const text = optionalText(value[key]);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** Strings as they are; numbers and booleans (e.g. numeric answers) as their JSON text. */
function optionalText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function finish(prompt: string, response: string | undefined, system: string | undefined): ExtractResult {
  if (prompt.trim().length === 0) return { ok: false, code: 'empty-prompt', reason: 'has an empty prompt' };
  const result: ExtractedPrompt = { ok: true, prompt };
  if (response !== undefined) result.response = response;
  // An empty system string (common in ../shared/datasets) means "no system prompt".
  if (system !== undefined && system.length > 0) result.system = system;
  return result;
}

function skipped(reason: string): ExtractFailure {
  return { ok: false, code: 'skipped-item', reason };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value === undefined) return 'missing';
  switch (typeof value) {
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'string':
      return 'a string';
    default:
      return 'an object';
  }
}
