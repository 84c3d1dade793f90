"""Outbound HTTP for actions: only to public addresses (or those ACTIONS_ALLOWED_HOSTS names),
with redirects re-checked, time-outs and a size limit on every answer."""
