import { useId, useState, type FormEvent } from 'react';
import type { CsvColumnChoice, CsvColumnList, CsvColumnRef } from '../../prompts/types';
import { chooseCsvColumns } from '../../store/promptActions';
import type { PromptSet } from '../../store/promptSets';
import { plural } from './format';
import { useReadJobs } from '../../store/readJobs';

interface CsvColumnChooserProps {
  promptSet: PromptSet;
  csv: { columns: CsvColumnList; choice: CsvColumnChoice };
}

const NO_COLUMN = '';

/** Which column of a table holds the prompts (and, optionally, the responses). */
export function CsvColumnChooser({ promptSet, csv }: CsvColumnChooserProps) {
  const { columns } = csv.columns;
  const [promptIndex, setPromptIndex] = useState(() => indexOf(csv.choice.promptColumn, csv.columns));
  const [responseIndex, setResponseIndex] = useState(() => indexOf(csv.choice.responseColumn, csv.columns));
  const rereading = useReadJobs((state) => state.jobs.some((job) => job.rereadsSetId === promptSet.id));
  const id = useId();
  const currentPrompt = indexOf(csv.choice.promptColumn, csv.columns);
  const currentResponse = indexOf(csv.choice.responseColumn, csv.columns);
  const changed = promptIndex !== currentPrompt || responseIndex !== currentResponse;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (promptIndex < 0 || !changed) return;
    const choice: CsvColumnChoice = { promptColumn: promptIndex };
    if (responseIndex >= 0) choice.responseColumn = responseIndex;
    void chooseCsvColumns(promptSet.id, choice);
  };

  return (
    <form className="csv-chooser" onSubmit={onSubmit} data-testid="csv-chooser">
      <fieldset>
        <legend>Table columns</legend>
        <p className="hint">
          {plural(columns.length, 'column')}, {csv.columns.hasHeader ? 'with a header row' : 'no header row'}, separated by{' '}
          {describeDelimiter(csv.columns.delimiter)}.
        </p>
        <div className="csv-chooser__fields">
          <div className="field">
            <label htmlFor={`${id}-prompt`} className="field-label">
              Prompt column
            </label>
            <select
              id={`${id}-prompt`}
              value={promptIndex}
              data-testid="csv-prompt-column"
              onChange={(event) => setPromptIndex(Number(event.target.value))}
            >
              {columns.map((column) => (
                <option key={column.index} value={column.index}>
                  {describeColumn(column)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-response`} className="field-label">
              Response column (optional)
            </label>
            <select
              id={`${id}-response`}
              value={responseIndex < 0 ? NO_COLUMN : responseIndex}
              data-testid="csv-response-column"
              onChange={(event) => setResponseIndex(event.target.value === NO_COLUMN ? -1 : Number(event.target.value))}
            >
              <option value={NO_COLUMN}>None</option>
              {columns.map((column) => (
                <option key={column.index} value={column.index}>
                  {describeColumn(column)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button" disabled={!changed || rereading} data-testid="csv-apply">
            {rereading ? 'Re-reading…' : 'Use these columns'}
          </button>
        </div>
        <ColumnPreview columns={csv.columns} selected={promptIndex} />
      </fieldset>
    </form>
  );
}

function ColumnPreview({ columns, selected }: { columns: CsvColumnList; selected: number }) {
  const column = columns.columns.find((c) => c.index === selected);
  if (!column) return null;
  return (
    <div className="csv-chooser__preview">
      <p className="muted">
        “{column.name}”: filled in {Math.round(column.filled * 100)}% of the first {columns.rowsInspected} rows, mean{' '}
        {Math.round(column.meanLength)} characters. Examples:
      </p>
      <ul>
        {column.samples.map((sample, index) => (
          <li key={index}>
            <span className="prompt-text">{sample}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function indexOf(ref: CsvColumnRef | undefined, list: CsvColumnList): number {
  if (ref === undefined) return -1;
  if (typeof ref === 'number') return ref;
  return list.columns.find((column) => column.name === ref)?.index ?? -1;
}

function describeColumn(column: CsvColumnList['columns'][number]): string {
  return `${column.name} (mean ${plural(Math.round(column.meanLength), 'char')})`;
}

function describeDelimiter(delimiter: string): string {
  switch (delimiter) {
    case ',':
      return 'commas';
    case '\t':
      return 'tabs';
    case ';':
      return 'semicolons';
    case '|':
      return 'vertical bars';
    default:
      return `“${delimiter}”`;
  }
}
