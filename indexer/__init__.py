"""The indexer: streams committed catalog changes from the PostgreSQL outbox into OpenSearch.

Also builds the index for the document's fields (`indexer.mapping`; the field names themselves are the shared
contract `catalog.index_contract`), full reindex (`indexer.reindex`) and the PostgreSQL/OpenSearch drift check
(`indexer.verify`). A part: imports `db` and the shared base, never `api` or `dashboard`.
"""
