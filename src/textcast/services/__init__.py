"""Use cases: one function per thing a user does (create a campaign, launch it, erase a contact,
create a key...). Each opens and commits its own transaction, applies the side rules and writes
the audit entry, so the web API, the dashboard and the command line only parse, call and present.
"""
