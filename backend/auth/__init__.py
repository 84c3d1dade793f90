"""Who may do what: principals, tokens and the service's own secrets."""
