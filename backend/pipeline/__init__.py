"""The file pipeline: sniffing a file's format, reading CSV, Excel and Parquet within bounds,
validating every row against a contract and writing the clean rows in one pass. Synchronous and
without a database: the worker runs it on the lower-priority heavy thread pool (`priority.run_heavy`) and calls it
with paths and schemas."""
