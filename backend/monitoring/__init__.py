"""Monitoring: health of every part of the chain (database, storage, workers, Druid), measured."""
