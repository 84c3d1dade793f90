"""Command-line subcommands of `python -m backend` that act on the running service's parts
(the composition root): API tokens."""
