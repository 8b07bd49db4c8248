import { Fragment } from 'react';

/**
 * A file or set name ("sentiment.jsonl", "customer_support_tickets.csv") that may wrap after its
 * dots, underscores, dashes and slashes: a narrow column breaks it there rather than inside a word
 * ("sentiment." / "jsonl", not "sentiment.j" / "sonl"). The text is unchanged (`<wbr>` adds none).
 */
export function BreakableName({ name }: { name: string }) {
  const parts = name.split(/(?<=[._\-/\\])/);
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </>
  );
}
