"""Data contracts: what a datasource's rows must look like (columns, types, the time column, row
checks), the sales contract, declared and inferred contracts, their evolution, and the stored
record of each datasource's contract."""
