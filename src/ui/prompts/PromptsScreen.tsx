import { useSelectedPromptSet } from '../../store/promptSets';
import { AddTargetField } from './AddTargetField';
import { ExamplesGroup } from './ExamplesGroup';
import { FilePickerButton } from './FilePickerButton';
import { PasteBox } from './PasteBox';
import { PromptSetDetails } from './PromptSetDetails';
import { PromptSetList } from './PromptSetList';
import { ReadJobList } from './ReadJobList';

/** First screen: add prompts three ways, see what was read, pick the prompts for the generator. */
export function PromptsScreen() {
  const selected = useSelectedPromptSet();
  return (
    <div className="prompts-screen">
      <div className="prompts-screen__jobs">
        <ReadJobList />
      </div>
      <div className="prompts-screen__inputs">
        <section className="card" aria-labelledby="add-prompts-heading">
          <h2 id="add-prompts-heading">Add prompts</h2>
          <p className="hint">
            Drop files anywhere on this page, choose them, or paste text. Plain text (one prompt per line, or
            paragraphs), JSONL, JSON, CSV and TSV are read, as UTF-8.
          </p>
          <AddTargetField />
          <FilePickerButton />
          <PasteBox />
        </section>
        <ExamplesGroup />
        <PromptSetList />
      </div>
      <div className="prompts-screen__details">
        {selected ? <PromptSetDetails key={selected.id} promptSet={selected} /> : <NoPromptSetYet />}
      </div>
    </div>
  );
}

function NoPromptSetYet() {
  return (
    <section className="card empty-state" data-testid="no-prompt-sets" aria-labelledby="no-sets-heading">
      <h2 id="no-sets-heading">No prompts yet</h2>
      <p>
        Load a file, paste some prompts, or try one of the examples. You will see how many were read, their lengths, the duplicates dropped,
        and the prompts that will feed the generator.
      </p>
    </section>
  );
}
