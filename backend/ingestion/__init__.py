"""Ingestion as users meet it: accepting an upload (intake), datasources and their contracts,
owners and grants. The file pipeline, the task records and the worker live in `backend.pipeline`,
`backend.tasks` and `backend.worker`."""
