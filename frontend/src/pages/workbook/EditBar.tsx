import { useEffect, useId, useRef } from "react";

import type { EditAction, EditItem } from "./editReducer";

const SIZES = Array.from({ length: 12 }, (_, i) => i + 1);

interface Props {
  item: EditItem;
  index: number;
  count: number;
  dispatch: (action: EditAction) => void;
  /** The button to focus after a move (the widget's own, at its new place). */
  focus: { key: string; which: "up" | "down" } | null;
  onMoved: (key: string, which: "up" | "down") => void;
}

/** A widget's controls in edit mode: move, remove, title and size. */
export function EditBar({ item, index, count, dispatch, focus, onMoved }: Props) {
  const id = useId();
  const up = useRef<HTMLButtonElement>(null);
  const down = useRef<HTMLButtonElement>(null);
  const { key, widget } = item;
  const name = widget.title || `widget ${index + 1}`;
  useEffect(() => {
    if (focus?.key !== key) return;
    const wanted = focus.which === "up" ? up.current : down.current;
    const target = wanted && !wanted.disabled ? wanted : focus.which === "up" ? down.current : up.current;
    target?.focus();
  }, [focus, key, index]);
  const move = (by: -1 | 1) => {
    dispatch({ type: "move", key, by });
    onMoved(key, by < 0 ? "up" : "down");
  };
  return (
    <div className="wb-editbar" role="group" aria-label={`Layout of ${name}`}>
      <button type="button" ref={up} disabled={index === 0} onClick={() => move(-1)} aria-label={`Move ${name} up`}>
        ↑ Up
      </button>
      <button
        type="button"
        ref={down}
        disabled={index === count - 1}
        onClick={() => move(1)}
        aria-label={`Move ${name} down`}
      >
        ↓ Down
      </button>
      <button type="button" onClick={() => dispatch({ type: "remove", key })} aria-label={`Remove ${name}`}>
        Remove
      </button>
      <label htmlFor={`${id}-title`}>Title</label>
      <input
        id={`${id}-title`}
        value={widget.title}
        maxLength={200}
        onChange={(e) => dispatch({ type: "configure", key, title: e.target.value })}
      />
      <label htmlFor={`${id}-width`}>Width</label>
      <select
        id={`${id}-width`}
        value={widget.size.width}
        onChange={(e) => dispatch({ type: "configure", key, size: { width: Number(e.target.value) } })}
      >
        {SIZES.map((n) => (
          <option key={n} value={n}>
            {n} of 12
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-height`}>Height</label>
      <select
        id={`${id}-height`}
        value={widget.size.height}
        onChange={(e) => dispatch({ type: "configure", key, size: { height: Number(e.target.value) } })}
      >
        {SIZES.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}
