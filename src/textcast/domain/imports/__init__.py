"""CSV imports of contacts: reading any spreadsheet's layout, parsing rows in worker processes,
writing them in chunks, and the import jobs with their progress and rejected rows."""
