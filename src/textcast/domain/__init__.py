"""The rules: plain functions of (session, ...)."""
