"""The HTTP API (Litestar): catalog writes for staff, public storefront search, health and metrics. A part: imports
the search engine (`search`), `db` and the shared base (`catalog.settings`, `catalog.errors`, ...), never `indexer`
or `dashboard`."""
