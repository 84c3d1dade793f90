"""Monitoring primitives used by every part: Prometheus metrics, traces, the audit log, event-loop
liveness and single-flight probes. The status pages built on them are `backend.status`."""
