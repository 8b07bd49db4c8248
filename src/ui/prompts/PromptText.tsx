/** A prompt shown in at most three lines; the full text stays in the DOM for screen readers and copying. */
export function PromptText({ text }: { text: string }) {
  return <span className="prompt-text">{text}</span>;
}
