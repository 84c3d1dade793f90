"""Analytics over uploaded data: a query model, engines (embedded Polars; Druid later), a cache."""
