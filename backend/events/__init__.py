"""Events (a task ended, a datasource's schema changed, Druid loaded a dataset), written in the
transaction of their cause to an outbox that actions' event triggers read."""
