import { useEffect, useId, useRef, useState } from 'react';

interface RenameFieldProps {
  /** The adapter's current name (the field starts from it and follows it when it changes elsewhere). */
  name: string;
  label: string;
  testId: string;
  /** Renames; resolves false when refused (the error then comes back through `error`). */
  onRename: (name: string) => Promise<boolean>;
  error: string | null;
  /** Focus the field when shown (the Adapters list opens it from a Rename button). */
  autoFocus?: boolean;
  /** Called after a successful rename or Cancel/Escape; absent: the field stays. */
  onDone?: () => void;
  /** Keep the label for screen readers only (inside a table cell that already names the row). */
  hideLabel?: boolean;
}

/** A name field with its own Rename button: renames only when the person submits it. */
export function RenameField({ name, label, testId, onRename, error, autoFocus = false, onDone, hideLabel = false }: RenameFieldProps) {
  const [draft, setDraft] = useState(name);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  useEffect(() => setDraft(name), [name]);
  useEffect(() => {
    if (autoFocus) input.current?.select();
  }, [autoFocus]);
  const changed = draft.trim() !== '' && draft.trim() !== name;
  return (
    <form
      className="rename-field"
      data-testid={testId}
      onSubmit={(event) => {
        event.preventDefault();
        if (!changed) {
          onDone?.();
          return;
        }
        setBusy(true);
        void onRename(draft).then((ok) => {
          setBusy(false);
          if (ok) onDone?.();
        });
      }}
    >
      <label htmlFor={id} className={hideLabel ? 'visually-hidden' : 'field-label'}>
        {label}
      </label>
      <div className="rename-field__row">
        <input
          ref={input}
          id={id}
          type="text"
          value={draft}
          data-testid={`${testId}-input`}
          aria-invalid={error ? true : undefined}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key !== 'Escape') return;
            setDraft(name);
            onDone?.();
          }}
        />
        <button type="submit" className="button" disabled={busy || (!changed && !onDone)} data-testid={`${testId}-submit`}>
          {onDone && !changed ? 'Done' : 'Rename'}
        </button>
      </div>
      {error && (
        <p role="alert" className="inline-alert" data-testid={`${testId}-error`}>
          {error}
        </p>
      )}
    </form>
  );
}
