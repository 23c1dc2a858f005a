"""Storefront search: public full-text search with disjunctive facets, suggestions and synonyms."""
