import type { EvaluateAdapterChoice } from '../../store/evaluateAdapter';
import { describeOrigin, formatWhen } from '../model/format';

/** Which adapter the Evaluate tab offers for the set and why, in one line (shown under the form). */
export function adapterChoiceNote(choice: EvaluateAdapterChoice, setName: string): string {
  const { adapter } = choice;
  const chosen = `Chosen: “${adapter.name}”`;
  switch (choice.reason) {
    case 'last-used':
      return `${chosen}, the adapter you last used with ${setName} (${describeOrigin(adapter.origin)}).`;
    case 'generated': {
      const when = adapter.origin.at === null ? '' : `, ${formatWhen(adapter.origin.at)}`;
      const newest = choice.generatedCount > 1 ? `the newest of the ${choice.generatedCount} adapters` : 'the adapter';
      return `${chosen}, ${newest} generated from ${setName}${when}.`;
    }
    case 'first':
      return `${chosen}, the first in the list: no adapter here was generated from ${setName} or used with it (${describeOrigin(adapter.origin)}).`;
  }
}
