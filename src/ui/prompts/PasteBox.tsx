import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { loadPastedText } from '../../store/promptActions';
import { usePasteDraft } from '../../store/promptSets';

/** Paste or type prompts; the draft survives reloads and is only cleared after a successful read. */
export function PasteBox() {
  const text = usePasteDraft((state) => state.text);
  const setText = usePasteDraft((state) => state.setText);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    if (busy || text.length === 0) return;
    setBusy(true);
    const added = await loadPastedText(text);
    setBusy(false);
    if (added) setText('');
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void submit();
    }
  };

  return (
    <form className="paste-box" onSubmit={onSubmit}>
      <label htmlFor="paste-text" className="field-label">
        Paste prompts
      </label>
      <p id="paste-text-hint" className="hint">
        One prompt per line, paragraphs separated by a blank line, or JSONL/CSV text. Ctrl+Enter reads it.
      </p>
      <textarea
        id="paste-text"
        aria-describedby="paste-text-hint"
        rows={6}
        spellCheck={false}
        value={text}
        data-testid="paste-text"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="button-row">
        <button type="submit" className="button" disabled={busy || text.length === 0} data-testid="paste-submit">
          {busy ? 'Reading…' : 'Read pasted text'}
        </button>
        <button type="button" className="button button--quiet" disabled={busy || text.length === 0} onClick={() => setText('')}>
          Clear
        </button>
      </div>
    </form>
  );
}
