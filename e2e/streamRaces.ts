/**
 * A test hook for the page's worker messages, installed by the test (an init script), never part of
 * the app: every message that arrives on a page-side MessagePort (where Comlink delivers the calls of
 * a `Comlink.proxy` callback, e.g. the engine's token events) is held for a random time before its
 * listener sees it, so callbacks arrive late, out of order and after the call's result, which comes
 * on the Worker itself and is not held. It also records the wire: each engine `generate` result
 * (ids, text, adapter) and each token event (callback port, id, index, text), with the time each
 * reached the page's code.
 */
import type { BrowserContext, Page } from 'playwright-core';

export interface RaceOptions {
  /** Each held message waits a uniform random 0..maxDelayMs. */
  maxDelayMs: number;
  /** Seed of the page's own random generator, so a failure can be replayed. */
  seed: number;
}

export interface WireRecord {
  results: { ids: number[]; text: string; adapter: string | null; stopReason: string; deliveredAt: number }[];
  /** `port`: the order in which the page exposed the callback (one per call that passed one). */
  tokens: { port: number; id: number; index: number; text: string; deliveredAt: number }[];
}

export async function installStreamRaces(context: BrowserContext, options: RaceOptions): Promise<void> {
  await context.addInitScript(({ maxDelayMs, seed }: RaceOptions) => {
    let state = seed >>> 0 || 1;
    const random = () => {
      // xorshift32: deterministic per seed
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 4294967296;
    };
    const wire: WireRecord = { results: [], tokens: [] };
    (window as unknown as { __wire: WireRecord }).__wire = wire;
    type Listener = (this: EventTarget, event: Event) => void;
    const wrapped = new WeakMap<Listener, Listener>();
    const portIds = new WeakMap<MessagePort, number>();
    let nextPort = 0;

    const addPort = MessagePort.prototype.addEventListener;
    const removePort = MessagePort.prototype.removeEventListener;
    MessagePort.prototype.addEventListener = function (this: MessagePort, type: string, listener: unknown, opts?: unknown) {
      if (type !== 'message' || typeof listener !== 'function') return addPort.call(this, type, listener as EventListener, opts as boolean);
      if (!portIds.has(this)) portIds.set(this, nextPort++);
      const port = portIds.get(this)!;
      const held: Listener = function (this: EventTarget, event: Event) {
        const data = (event as MessageEvent).data as { type?: string; argumentList?: { type?: string; value?: unknown }[] } | null;
        const first = data?.type === 'APPLY' ? data.argumentList?.[0]?.value : undefined;
        setTimeout(() => {
          if (first && typeof first === 'object' && 'index' in first && 'text' in first && 'id' in first) {
            const t = first as { id: number; index: number; text: string };
            wire.tokens.push({ port, id: t.id, index: t.index, text: t.text, deliveredAt: performance.now() });
          }
          (listener as Listener).call(this, event);
        }, random() * maxDelayMs);
      };
      wrapped.set(listener as Listener, held);
      return addPort.call(this, type, held as EventListener, opts as boolean);
    } as typeof MessagePort.prototype.addEventListener;
    MessagePort.prototype.removeEventListener = function (this: MessagePort, type: string, listener: unknown, opts?: unknown) {
      const held = typeof listener === 'function' ? wrapped.get(listener as Listener) : undefined;
      return removePort.call(this, type, (held ?? listener) as EventListener, opts as boolean);
    } as typeof MessagePort.prototype.removeEventListener;

    // The worker's own port: not held, only recorded (a generate result is { ok, value: GenerateResult }).
    const addWorker = Worker.prototype.addEventListener;
    Worker.prototype.addEventListener = function (this: Worker, type: string, listener: unknown, opts?: unknown) {
      if (type === 'message' && typeof listener === 'function') {
        addWorker.call(this, 'message', (event: Event) => {
          const value = ((event as MessageEvent).data as { value?: { ok?: boolean; value?: Record<string, unknown> } } | null)?.value;
          const r = value?.ok ? value.value : undefined;
          if (r && Array.isArray(r.ids) && typeof r.text === 'string' && 'stopReason' in r && 'decodeMs' in r) {
            wire.results.push({
              ids: r.ids as number[], text: r.text, adapter: (r.adapter as string | null) ?? null, stopReason: String(r.stopReason), deliveredAt: performance.now(),
            });
          }
        });
      }
      return addWorker.call(this, type, listener as EventListener, opts as boolean);
    } as typeof Worker.prototype.addEventListener;
  }, options);
}

export async function readWire(page: Page): Promise<WireRecord> {
  return page.evaluate(() => (window as unknown as { __wire: WireRecord }).__wire);
}
