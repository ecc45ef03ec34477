// Form building blocks: every input has a label, and a field's UserError is shown
// under it, linked by aria-describedby, with aria-invalid set.
import { useEffect, useId, useRef, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import type { FormErrors } from "../api/errors";

type FieldProps = InputHTMLAttributes<HTMLInputElement> & {
  label: string;
  name: string;
  errors: FormErrors;
  hint?: string;
};

export function Field({ label, name, errors, hint, ...input }: FieldProps) {
  const id = useId();
  const error = errors.fields[name];
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        {...input}
      />
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & {
  label: string;
  name: string;
  errors: FormErrors;
  options: readonly { value: string; label: string }[];
};

export function Select({ label, name, errors, options, ...select }: SelectProps) {
  const id = useId();
  const error = errors.fields[name];
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        {...select}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

// Errors about the input as a whole; focused when they appear so a keyboard or
// screen-reader user learns at once why nothing happened.
export function GeneralErrors({ errors, extra }: { errors: FormErrors; extra?: string | null }) {
  const messages = [...errors.general, ...(extra ? [extra] : [])];
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (messages.length) ref.current?.focus();
  }, [messages.join("\n")]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!messages.length) return null;
  return (
    <div className="errors" role="alert" tabIndex={-1} ref={ref}>
      {messages.map((message) => (
        <p key={message}>{message}</p>
      ))}
    </div>
  );
}

export function Fieldset({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {children}
    </fieldset>
  );
}

// Reads a form's named inputs as strings (FormData), for the submit handlers.
export function formValues(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  new FormData(form).forEach((value, key) => {
    if (typeof value === "string") values[key] = value;
  });
  return values;
}

// A chosen file's text (FileReader: every browser, and the tests' DOM, has it).
export function fileText(file: Blob): Promise<string> {
  return new Promise((done, fail) => {
    const reader = new FileReader();
    reader.onload = () => done(String(reader.result));
    reader.onerror = () => fail(reader.error);
    reader.readAsText(file);
  });
}
