import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

interface Props {
  title: string;
  onClose(): void;
  children: ComponentChildren;
  wide?: boolean;
  testId?: string;
}

/**
 * A native modal <dialog>: the browser traps focus, closes it on Escape and makes the page behind
 * it inert. Focus returns to the control that opened it.
 */
export function Modal({ title, onClose, children, wide, testId }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      class={wide ? 'modal modal-wide' : 'modal'}
      aria-labelledby={titleId}
      data-testid={testId}
      onClose={() => closeRef.current()}
      onClick={(e) => {
        // A click on the backdrop lands on the dialog element itself.
        if (e.target === e.currentTarget) closeRef.current();
      }}
    >
      <div class="modal-body">
        <header class="modal-header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" class="button button-quiet" onClick={() => closeRef.current()}>
            Close
          </button>
        </header>
        {children}
      </div>
    </dialog>
  );
}
