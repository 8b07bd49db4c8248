import type { ParseWarning } from '../../prompts/types';
import { formatCount } from './format';

/** Lines or items that were skipped, collapsed by default. */
export function ParseWarnings({ warnings, total }: { warnings: readonly ParseWarning[]; total: number }) {
  return (
    <details className="warnings" data-testid="parse-warnings">
      <summary>
        {formatCount(total)} {total === 1 ? 'line was' : 'lines were'} skipped or changed — show why
      </summary>
      <ul>
        {warnings.map((warning, index) => (
          <li key={index}>{warning.message}</li>
        ))}
      </ul>
      {total > warnings.length && <p className="muted">Showing the first {formatCount(warnings.length)}.</p>}
    </details>
  );
}
