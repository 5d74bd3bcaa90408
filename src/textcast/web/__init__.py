"""The HTTP edge: JSON API, the tutorial's compatibility endpoint, webhooks, health."""
