import { useEffect, useEffectEvent } from "react";

/** Call `tick` every `intervalMs` while `enabled` and the page is visible. */
export function usePolling(tick: () => void, intervalMs: number, enabled = true): void {
  // The latest `tick` without restarting the interval when the caller passes a new function.
  const onTick = useEffectEvent(tick);
  useEffect(() => {
    if (!enabled) return undefined;
    const timer = window.setInterval(() => {
      if (document.visibilityState !== "hidden") onTick();
    }, intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs, enabled]);
}
