// Confirmation for destructive actions, in a modal <dialog> (focus trapped by the
// browser, Escape cancels). `typeToConfirm` asks for a word typed again. The dialog
// lives at the end of <body> and its submit stops there: a ConfirmButton placed in
// another form (Save and Delete side by side) must not submit that form as well.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";

export function ConfirmButton({
  label,
  title,
  children,
  typeToConfirm,
  onConfirm,
}: {
  label: string;
  title: string;
  children?: ReactNode;
  typeToConfirm?: string;
  onConfirm: (typed: string) => void | Promise<void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const id = useId();
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal?.();
    if (!open && element.open) element.close?.();
  }, [open]);
  const ready = typeToConfirm === undefined || typed === typeToConfirm;
  return (
    <>
      <button type="button" className="danger" onClick={() => setOpen(true)}>
        {label}
      </button>
      {createPortal(
      <dialog ref={dialog} aria-labelledby={`${id}-title`} onClose={() => setOpen(false)}>
        {open && (
          <form
            method="dialog"
            onSubmit={async (event) => {
              event.preventDefault();
              event.stopPropagation();
              if (!ready) return;
              setOpen(false);
              await onConfirm(typed);
              setTyped("");
            }}
          >
            <h2 id={`${id}-title`}>{title}</h2>
            {children}
            {typeToConfirm !== undefined && (
              <div className="field">
                <label htmlFor={`${id}-typed`}>Type {typeToConfirm} to confirm</label>
                <input id={`${id}-typed`} value={typed} autoFocus onChange={(e) => setTyped(e.target.value)} />
              </div>
            )}
            <div className="actions">
              <button type="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="danger" disabled={!ready}>
                {label}
              </button>
            </div>
          </form>
        )}
      </dialog>,
      document.body,
      )}
    </>
  );
}
