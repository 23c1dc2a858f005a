"""Data in and out: spreadsheet imports, exports and feeds, the change feed, webhooks."""
