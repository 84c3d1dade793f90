"""REST routers: thin layers over the domain services."""
