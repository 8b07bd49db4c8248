import { useEffect, useState } from 'react';
import { readableError, type ReadableError } from '../../store/engine';

export type Query<T> =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'done'; value: T; stale: boolean }
  | { state: 'error'; error: ReadableError };

interface Held<T> {
  key: string | null;
  query: Query<T>;
  /** The last answer, shown (marked stale) while the next one is on its way. */
  last?: T;
}

/**
 * Runs an engine call whenever `key` changes (null: nothing to ask) and keeps only the answer to
 * the latest key, so a slow answer for an old selection never replaces a newer one. While a new
 * answer is on its way the previous one stays (stale: true), so the layout does not jump.
 */
export function useEngineQuery<T>(key: string | null, run: () => Promise<T>): Query<T> {
  const [held, setHeld] = useState<Held<T>>({ key: null, query: { state: 'idle' } });
  useEffect(() => {
    if (key === null) return;
    let current = true;
    run().then(
      (value) => current && setHeld({ key, query: { state: 'done', value, stale: false }, last: value }),
      (error: unknown) => current && setHeld((h) => ({ key, query: { state: 'error', error: readableError(error) }, ...(h.last === undefined ? {} : { last: h.last }) })),
    );
    return () => {
      current = false;
    };
    // `run` is a fresh closure each render; the key says when the question changed.
  }, [key]);
  if (key === null) return { state: 'idle' };
  if (held.key === key) return held.query;
  return held.last === undefined ? { state: 'loading' } : { state: 'done', value: held.last, stale: true };
}
