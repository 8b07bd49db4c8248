import { useId, type ChangeEvent } from 'react';
import { loadPromptFiles } from '../../store/promptActions';

const ACCEPTED =
  '.txt,.text,.md,.jsonl,.ndjson,.json,.csv,.tsv,.tab,text/plain,text/csv,text/tab-separated-values,application/json';

/**
 * The browser's own file input, visually replaced by its label styled as a button. Keeping the
 * real input focusable means Tab reaches it and Enter or Space opens the chooser natively.
 */
export function FilePickerButton() {
  const id = useId();
  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(event.target.files ?? []);
    // Reset so choosing the same file again (after fixing it) reads it again.
    event.target.value = '';
    if (files.length > 0) void loadPromptFiles(files);
  };
  return (
    <div className="file-picker">
      <input
        id={id}
        type="file"
        multiple
        accept={ACCEPTED}
        className="visually-hidden file-picker__input"
        data-testid="file-input"
        onChange={onChange}
      />
      <label htmlFor={id} className="button button--primary" data-testid="choose-files">
        Choose prompt files…
      </label>
    </div>
  );
}
