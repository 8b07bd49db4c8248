import { describeWarnings } from '../../prompts/skipped';
import type { ParseResult } from '../../prompts/types';
import { formatCount } from './format';

/**
 * What reading skipped or noted, collapsed by default: the summary counts skipped parts in the unit
 * the file was read in ("1 item was skipped; 1 note"), the list gives each message.
 */
export function ParseWarnings({ result }: { result: Pick<ParseResult, 'warnings' | 'warningCount' | 'skipped'> }) {
  const { warnings, warningCount } = result;
  return (
    <details className="warnings" data-testid="parse-warnings">
      <summary>{describeWarnings(result)} — show why</summary>
      <ul>
        {warnings.map((warning, index) => (
          <li key={index}>{warning.message}</li>
        ))}
      </ul>
      {warningCount > warnings.length && <p className="muted">Showing the first {formatCount(warnings.length)}.</p>}
    </details>
  );
}
