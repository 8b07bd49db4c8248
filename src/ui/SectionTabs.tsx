import { useRef, type KeyboardEvent } from 'react';
import { EvaluateScreen } from './evaluate/EvaluateScreen';
import { AdaptersScreen } from './model/AdaptersScreen';
import { CompareScreen } from './model/CompareScreen';
import { GenerateScreen } from './generate/GenerateScreen';
import { PromptsScreen } from './prompts/PromptsScreen';
import type { SectionId } from '../store/navigation';

interface SectionInfo {
  id: SectionId;
  label: string;
}

const SECTIONS: readonly SectionInfo[] = [
  { id: 'prompts', label: 'Prompts' },
  { id: 'generate', label: 'Generate' },
  { id: 'compare', label: 'Compare' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'adapters', label: 'Adapters' },
];

interface SectionTabsProps {
  selected: SectionId;
  onSelect: (id: SectionId) => void;
}

/** WAI-ARIA tabs: arrow keys, Home and End move between tabs; Tab moves into the panel. */
export function SectionTabs({ selected, onSelect }: SectionTabsProps) {
  const tabRefs = useRef(new Map<SectionId, HTMLButtonElement>());

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = SECTIONS.findIndex((s) => s.id === selected);
    const last = SECTIONS.length - 1;
    const target =
      event.key === 'ArrowRight' ? (index + 1) % SECTIONS.length
      : event.key === 'ArrowLeft' ? (index + last) % SECTIONS.length
      : event.key === 'Home' ? 0
      : event.key === 'End' ? last
      : -1;
    const next = SECTIONS[target];
    if (!next) return;
    event.preventDefault();
    onSelect(next.id);
    tabRefs.current.get(next.id)?.focus();
  };

  return (
    <div className="sections">
      <div role="tablist" aria-label="Sections" className="tablist" onKeyDown={onKeyDown}>
        {SECTIONS.map((section) => (
          <button
            key={section.id}
            ref={(element) => {
              if (element) tabRefs.current.set(section.id, element);
              else tabRefs.current.delete(section.id);
            }}
            type="button"
            role="tab"
            id={`tab-${section.id}`}
            aria-controls={`panel-${section.id}`}
            aria-selected={section.id === selected}
            tabIndex={section.id === selected ? 0 : -1}
            className="tab"
            data-testid={`tab-${section.id}`}
            onClick={() => onSelect(section.id)}
          >
            {section.label}
          </button>
        ))}
      </div>
      {SECTIONS.map((section) => (
        <div
          key={section.id}
          role="tabpanel"
          id={`panel-${section.id}`}
          aria-labelledby={`tab-${section.id}`}
          hidden={section.id !== selected}
          tabIndex={0}
          className="tabpanel"
          data-testid={`panel-${section.id}`}
        >
          {/* Panels stay mounted so the Prompts screen keeps its state while other tabs are open. */}
          <SectionContent id={section.id} />
        </div>
      ))}
    </div>
  );
}

function SectionContent({ id }: { id: SectionId }) {
  switch (id) {
    case 'prompts':
      return <PromptsScreen />;
    case 'generate':
      return <GenerateScreen />;
    case 'compare':
      return <CompareScreen />;
    case 'evaluate':
      return <EvaluateScreen />;
    case 'adapters':
      return <AdaptersScreen />;
  }
}
