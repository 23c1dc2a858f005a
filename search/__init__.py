"""The storefront search engine, shared by the API's routes (`api.search`) and the dashboard's Search preview: the
query bodies and their passes (typo tolerance, relaxation, did-you-mean), facets and grouping by model, the
merchandising rules and pins, synonyms, the response cache and the query log, the OpenSearch client of searches.

A layer of its own between the parts that serve it (`api`, `dashboard`) and `db`: it imports `db` and the shared base
(`catalog.index_contract` for the document's fields, `catalog.errors`, `catalog.field_types`), never `api`,
`dashboard` or `indexer`, so the preview runs the shoppers' very code path without the dashboard importing the API.
"""
