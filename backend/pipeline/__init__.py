"""The file pipeline: sniffing a file's format, reading CSV, Excel and Parquet within bounds,
validating every row against a contract and writing the clean rows in one pass. Synchronous and
without a database: it runs in a worker's process pool and is called with paths and schemas."""
