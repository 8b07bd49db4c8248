import { usePromptSets } from '../store/promptSets';

interface NotAvailableYetProps {
  title: string;
  /** What this section will do, in one or two sentences. */
  what: string;
  /** Also say whether the prompts this section will need are ready. */
  needsPrompts?: boolean;
}

/** The honest state of a section whose engine is not built yet: no sample data, no mock results. */
export function NotAvailableYet({ title, what, needsPrompts = false }: NotAvailableYetProps) {
  const promptCount = usePromptSets((state) => state.sets.reduce((sum, s) => sum + s.result.records.length, 0));
  const setCount = usePromptSets((state) => state.sets.length);
  return (
    <section className="card not-available" aria-labelledby={`${slug(title)}-heading`} data-testid="not-available">
      <h2 id={`${slug(title)}-heading`}>{title}</h2>
      <p className="not-available__badge">Not available yet</p>
      <p>{what}</p>
      <p>This part of the app is still being built, so there is nothing to run here yet.</p>
      {needsPrompts && (
        <p>
          {setCount === 0
            ? 'When it is ready it will use the prompts you load on the Prompts tab; none are loaded yet.'
            : `When it is ready it will use your prompts: ${setCount} ${setCount === 1 ? 'set' : 'sets'} with ${promptCount.toLocaleString('en')} prompts loaded.`}
        </p>
      )}
    </section>
  );
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
