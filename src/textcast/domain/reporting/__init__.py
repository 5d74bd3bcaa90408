"""Reporting: a campaign's analytics and the dashboard overview, every figure a SQL aggregate."""
