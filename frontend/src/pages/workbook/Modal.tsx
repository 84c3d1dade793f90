import { useEffect, useId, useRef, type ReactNode } from "react";

interface Props {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  /** Alert dialogs (a conflict) are announced as such. */
  alert?: boolean;
}

/** A modal dialog (the browser's <dialog>: focus stays inside, Escape closes); focus goes to its
 * first field when it opens and back to what had it when it closes. */
export function Modal({ title, open, onClose, children, alert = false }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const element = ref.current;
    if (!element || !open) return;
    const opener = document.activeElement as HTMLElement | null;
    if (typeof element.showModal === "function") element.showModal();
    else element.setAttribute("open", "");
    const first = element.querySelector<HTMLElement>("input, select, textarea, button");
    first?.focus();
    return () => {
      if (typeof element.close === "function" && element.open) element.close();
      else element.removeAttribute("open");
      opener?.focus?.();
    };
  }, [open]);
  if (!open) return null;
  return (
    <dialog
      ref={ref}
      className="wb-dialog"
      role={alert ? "alertdialog" : undefined}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}
