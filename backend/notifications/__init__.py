"""In-app notifications: a person's uploads that finished, workbooks shared with them or changed
while they follow them; read, marked read, streamed live, kept NOTIFICATIONS_KEEP_DAYS."""
