"""The change feed: GET /changes."""
