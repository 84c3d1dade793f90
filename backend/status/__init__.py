"""System status for the app, GraphiQL, curl and the CLI: health of each dependency, Sigma mode
and the performance pages. It reads the running service through `services.Services`."""
