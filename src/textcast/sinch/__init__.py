"""The only code that knows Sinch's xms v1 REST API: URLs, JSON, auth, errors and callbacks."""
