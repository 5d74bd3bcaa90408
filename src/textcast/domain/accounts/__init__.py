"""Accounts: users and their roles, passwords, sessions, API keys and scopes, and the audit log."""
