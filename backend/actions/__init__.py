"""Actions: imports, webhooks, alerts and reports that run on their own."""
