"""Analytics over uploaded data: a query model, two engines (embedded Polars over the stored
Parquet copies, and Druid SQL), rollups, a result cache and the dashboards built on them."""
