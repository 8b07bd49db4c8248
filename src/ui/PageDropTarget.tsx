import { useEffect, useRef, useState } from 'react';
import { loadPastedText, loadPromptFiles } from '../store/promptActions';

interface PageDropTargetProps {
  /** Called when something was dropped, e.g. to show the Prompts section. */
  onFilesDropped: () => void;
  /** When set (the Adapters tab is open), dropped .zip files go here instead of the prompt reader. */
  onZipFiles?: ((files: File[]) => void) | null;
}

/**
 * The whole page accepts dropped files. A counter pairs dragenter/dragleave across child elements
 * so the overlay does not flicker; dropping dragged text reads it like the paste box.
 */
export function PageDropTarget({ onFilesDropped, onZipFiles = null }: PageDropTargetProps) {
  const [active, setActive] = useState(false);
  const depth = useRef(0);
  const onDropped = useRef(onFilesDropped);
  onDropped.current = onFilesDropped;
  const onZips = useRef(onZipFiles);
  onZips.current = onZipFiles;

  useEffect(() => {
    const carriesDroppable = (event: DragEvent) => {
      const types = event.dataTransfer?.types ?? [];
      return types.includes('Files') || types.includes('text/plain');
    };
    const onDragEnter = (event: DragEvent) => {
      if (!carriesDroppable(event)) return;
      event.preventDefault();
      depth.current++;
      setActive(true);
    };
    const onDragOver = (event: DragEvent) => {
      if (!carriesDroppable(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const onDragLeave = () => {
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setActive(false);
    };
    const onDrop = (event: DragEvent) => {
      depth.current = 0;
      setActive(false);
      const data = event.dataTransfer;
      if (!data) return;
      // Text dropped on the paste box belongs to the paste box.
      const target = event.target instanceof Element ? event.target : null;
      const files = Array.from(data.files);
      if (files.length === 0 && target?.closest('textarea')) return;
      event.preventDefault();
      const zips = files.filter((f) => /\.zip$/i.test(f.name));
      if (onZips.current && zips.length > 0) {
        onZips.current(zips);
        return;
      }
      if (files.length > 0) {
        onDropped.current();
        void loadPromptFiles(files);
        return;
      }
      const text = data.getData('text/plain');
      if (text) {
        onDropped.current();
        void loadPastedText(text);
      }
    };
    window.addEventListener('dragenter', onDragEnter);
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('dragleave', onDragLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragenter', onDragEnter);
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('dragleave', onDragLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, []);

  return (
    <div className={`drop-overlay${active ? ' drop-overlay--active' : ''}`} aria-hidden="true" data-testid="drop-overlay" data-active={active}>
      <div className="drop-overlay__box">
        {onZipFiles ? (
          <>
            <p className="drop-overlay__title">Drop adapter .zip files to import them</p>
            <p>PEFT adapters: adapter_config.json + adapter_model.safetensors. Other files are read as prompts.</p>
          </>
        ) : (
          <>
            <p className="drop-overlay__title">Drop prompt files to read them</p>
            <p>Plain text, JSONL, JSON, CSV or TSV. Several files at once are fine.</p>
          </>
        )}
      </div>
    </div>
  );
}
