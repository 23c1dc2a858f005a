"""The HTTP API (Litestar): catalog writes for staff, public storefront search, health and metrics. A part: imports
`db` and the shared base (`catalog.settings`, `catalog.index_contract`, ...), never `indexer` or `dashboard`."""
