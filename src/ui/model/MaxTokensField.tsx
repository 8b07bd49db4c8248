interface MaxTokensFieldProps {
  id: string;
  label: string;
  value: number;
  /** Largest allowed value; typed values are clamped to 1..max and rounded. */
  max: number;
  testId: string;
  onChange: (value: number) => void;
}

/** The "max new tokens" number input of Compare and Evaluate. */
export function MaxTokensField({ id, label, value, max, testId, onChange }: MaxTokensFieldProps) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        min={1}
        max={max}
        value={value}
        data-testid={testId}
        onChange={(event) => onChange(Math.min(max, Math.max(1, Math.round(Number(event.target.value) || 1))))}
      />
    </div>
  );
}
