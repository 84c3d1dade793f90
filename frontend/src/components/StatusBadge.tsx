const TONES: Record<string, string> = {
  succeeded: "good",
  healthy: "good",
  up: "good",
  available: "good",
  failed: "bad",
  down: "bad",
  cancelled: "muted",
  not_configured: "muted",
  degraded: "warn",
  waiting_for_druid: "warn",
};

export function toneOf(status: string): string {
  return TONES[status.toLowerCase()] ?? "info";
}

export function statusLabel(status: string): string {
  return status.toLowerCase().replaceAll("_", " ");
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${toneOf(status)}`} data-status={status.toLowerCase()}>
      {statusLabel(status)}
    </span>
  );
}
