import { useLayoutEffect, useRef } from 'preact/hooks'

/** An in-page confirmation (a modal `<dialog>`): its confirming button is `data-testid="confirm"`. */
export function ConfirmDialog({ message, onConfirm, onClose }: { message: string; onConfirm: () => void; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null)
  // open it before the browser paints: between the render and a later effect the dialog exists but is
  // hidden, and a focus or key press in that gap would go to the page behind it
  useLayoutEffect(() => {
    const d = ref.current
    if (d && !d.open) d.showModal()
  }, [])
  return (
    <dialog ref={ref} class="confirm" onClose={onClose} aria-labelledby="confirm-msg">
      <p id="confirm-msg">{message}</p>
      <div class="buttons">
        <button type="button" onClick={() => ref.current?.close()}>
          Keep it
        </button>
        <button
          type="button"
          class="danger"
          data-testid="confirm"
          onClick={() => {
            onConfirm()
            ref.current?.close()
          }}
        >
          Confirm
        </button>
      </div>
    </dialog>
  )
}
