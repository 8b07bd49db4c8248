import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react';

/** Whether the element's content is wider than the element (it scrolls sideways), kept up to date as either resizes. */
export function useHorizontalOverflow(ref: RefObject<HTMLElement | null>): boolean {
  const [overflowing, setOverflowing] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => setOverflowing(element.scrollWidth > element.clientWidth + 1);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    for (const child of Array.from(element.children)) observer.observe(child);
    return () => observer.disconnect();
  }, [ref]);
  return overflowing;
}

/**
 * A table that may be wider than the window: it scrolls sideways in its own box, and while it does
 * (a narrow window) says so above it, with a shadow on the side that has more; the box is then
 * reachable with Tab, so the arrow keys scroll it. `label` names the box for screen readers.
 */
export function WideTable({ label, children }: { label: string; children: ReactNode }) {
  const scroller = useRef<HTMLDivElement>(null);
  const overflowing = useHorizontalOverflow(scroller);
  const hintId = useId();
  return (
    <div className="wide-table" data-testid="wide-table" data-overflowing={overflowing}>
      {overflowing && (
        <p className="hint wide-table__hint" id={hintId} data-testid="scroll-hint">
          Scroll sideways to see every column <span aria-hidden="true">→</span>
        </p>
      )}
      <div
        ref={scroller}
        className="wide-table__scroll"
        data-testid="wide-table-scroll"
        role="region"
        aria-label={label}
        aria-describedby={overflowing ? hintId : undefined}
        tabIndex={overflowing ? 0 : undefined}
      >
        {children}
      </div>
    </div>
  );
}
