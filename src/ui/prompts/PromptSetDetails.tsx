import type { PromptSet } from '../../store/promptSets';
import { BreakableName } from '../BreakableName';
import { CsvColumnChooser } from './CsvColumnChooser';
import { formatBytes, formatCount, plural } from './format';
import { LengthHistogram } from './LengthHistogram';
import { ParseWarnings } from './ParseWarnings';
import { PromptText } from './PromptText';
import { SampledPrompts } from './SampledPrompts';

const FORMAT_NAMES = { text: 'Plain text', jsonl: 'JSONL', json: 'JSON', csv: 'CSV', tsv: 'TSV' } as const;

/** Everything read from one file or paste: counts, lengths, warnings, and the generator's sample. */
export function PromptSetDetails({ promptSet }: { promptSet: PromptSet }) {
  const { result, summary } = promptSet;
  const headingId = `set-heading-${promptSet.id}`;
  return (
    <section className="card prompt-set" aria-labelledby={headingId} data-testid="prompt-set-details">
      <h2 id={headingId} className="prompt-set__name" data-testid="prompt-set-name">
        <BreakableName name={promptSet.name} />
      </h2>
      <p className="muted">
        {promptSet.origin.kind === 'merged' ? `Merged from ${promptSet.origin.parts.join(', ')}` : FORMAT_NAMES[result.format]}
        {result.textSplit ? ` (${result.textSplit === 'line' ? 'one prompt per line' : 'one prompt per paragraph'})` : ''}
        {' · '}
        {formatBytes(promptSet.sizeBytes)}
        {result.formatSource === 'content' ? ' · format recognised from the content' : ''}
      </p>

      <dl className="stats" data-testid="prompt-set-stats">
        <Stat label="Prompts" value={formatCount(result.records.length)} testId="prompt-count" />
        <Stat label="Read" value={formatCount(result.recordsRead)} testId="records-read" />
        <Stat label="Duplicates dropped" value={formatCount(result.duplicatesDropped)} testId="duplicates-dropped" />
        <Stat label="Warnings" value={formatCount(result.warningCount)} testId="warning-count" />
        <Stat
          label="Median length"
          value={plural(summary.length.median, 'char')}
          detail={`shortest ${formatCount(summary.length.min)}, longest ${formatCount(summary.length.max)}`}
          testId="median-length"
        />
      </dl>

      {result.csv && <CsvColumnChooser promptSet={promptSet} csv={result.csv} />}

      <div className="prompt-set__grid">
        <div>
          <h3>Prompt lengths</h3>
          <LengthHistogram bins={summary.length.histogram} total={result.records.length} />
        </div>
        <div>
          <h3>First prompts</h3>
          <ol className="prompt-list" data-testid="first-prompts">
            {summary.samples.map((record, index) => (
              <li key={index} className="prompt-list__item">
                <PromptText text={record.prompt} />
              </li>
            ))}
          </ol>
        </div>
      </div>

      {result.warningCount > 0 && <ParseWarnings result={result} />}

      <SampledPrompts promptSet={promptSet} />
      <p className="muted">{plural(result.records.length, 'prompt')} kept in this browser only (page memory and IndexedDB); nothing is uploaded.</p>
    </section>
  );
}

interface StatProps {
  label: string;
  value: string;
  /** A smaller second line under the value. */
  detail?: string;
  testId: string;
}

function Stat({ label, value, detail, testId }: StatProps) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>
        <span className="stat__value" data-testid={testId}>
          {value}
        </span>
        {detail && <span className="stat__detail">{detail}</span>}
      </dd>
    </div>
  );
}
