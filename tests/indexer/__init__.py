"""The outbox indexer (indexer/): streaming, reindex, several indexers at once, crash recovery."""
