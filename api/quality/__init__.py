"""Catalog quality for merchandisers: worklists, summaries, duplicates, trends and completeness rules."""
