import { useRef, type ChangeEvent } from 'react';
import { loadPromptFiles } from '../../store/promptActions';

const ACCEPTED =
  '.txt,.text,.md,.jsonl,.ndjson,.json,.csv,.tsv,.tab,text/plain,text/csv,text/tab-separated-values,application/json';

/** A real button that opens the browser's file chooser (several files allowed). */
export function FilePickerButton() {
  const input = useRef<HTMLInputElement>(null);
  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(event.target.files ?? []);
    // Reset so choosing the same file again (after fixing it) reads it again.
    event.target.value = '';
    if (files.length > 0) void loadPromptFiles(files);
  };
  return (
    <div className="file-picker">
      <button type="button" className="button button--primary" data-testid="choose-files" onClick={() => input.current?.click()}>
        Choose prompt files…
      </button>
      <input
        ref={input}
        type="file"
        multiple
        accept={ACCEPTED}
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        data-testid="file-input"
        onChange={onChange}
      />
    </div>
  );
}
