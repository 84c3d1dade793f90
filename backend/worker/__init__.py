"""The durable worker: claims queued tasks, runs the file pipeline on them, stages the clean
data, hands it to Druid when configured, and cleans up after tasks that ended."""
