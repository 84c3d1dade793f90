// Edit mode's layout: the widgets in order, each with a key of its own for React and for keeping
// the keyboard focus on a widget that moved.
import type { WidgetDoc, WidgetSize } from "./types";

export interface EditItem {
  key: string;
  widget: WidgetDoc;
}

export interface EditState {
  items: EditItem[];
  /** The layout differs from the one loaded (or saved) last. */
  dirty: boolean;
  next: number;
}

export type EditAction =
  | { type: "reset"; widgets: WidgetDoc[] }
  | { type: "add"; widget: WidgetDoc }
  | { type: "remove"; key: string }
  | { type: "move"; key: string; by: -1 | 1 }
  | { type: "configure"; key: string; title?: string; size?: Partial<WidgetSize> };

export function initialEdit(widgets: WidgetDoc[]): EditState {
  return { items: widgets.map((widget, i) => ({ key: `w${i}`, widget })), dirty: false, next: widgets.length };
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, Math.round(value)));

export function editReducer(state: EditState, action: EditAction): EditState {
  switch (action.type) {
    case "reset":
      return initialEdit(action.widgets);
    case "add":
      return {
        items: [...state.items, { key: `w${state.next}`, widget: action.widget }],
        dirty: true,
        next: state.next + 1,
      };
    case "remove": {
      const items = state.items.filter((item) => item.key !== action.key);
      return items.length === state.items.length ? state : { ...state, items, dirty: true };
    }
    case "move": {
      const from = state.items.findIndex((item) => item.key === action.key);
      const to = from + action.by;
      if (from < 0 || to < 0 || to >= state.items.length) return state;
      const items = [...state.items];
      const [moved] = items.splice(from, 1);
      if (moved) items.splice(to, 0, moved);
      return { ...state, items, dirty: true };
    }
    case "configure": {
      const items = state.items.map((item) => {
        if (item.key !== action.key) return item;
        const size = { ...item.widget.size, ...action.size };
        return {
          key: item.key,
          widget: {
            ...item.widget,
            title: action.title ?? item.widget.title,
            size: { width: clamp(size.width, 1, 12), height: clamp(size.height, 1, 12) },
          },
        };
      });
      return { ...state, items, dirty: true };
    }
  }
}

export function widgetsOf(state: EditState): WidgetDoc[] {
  return state.items.map((item) => item.widget);
}
