"""The durable worker: takes tasks (claimed through `backend.tasks.repository`, under a lease),
runs the file pipeline on them, stores the clean data, hands it to Druid when configured, and
removes uploads no task was ever recorded for (the janitor)."""
