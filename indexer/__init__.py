"""The indexer: streams committed catalog changes from the PostgreSQL outbox into OpenSearch.

Also owns the search index's shape (`indexer.mapping`), full reindex (`indexer.reindex`) and the
PostgreSQL/OpenSearch drift check (`indexer.verify`).
"""
