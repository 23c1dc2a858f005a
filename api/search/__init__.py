"""Storefront search over HTTP: the public search and suggestion routes, synonyms, merchandising rules, scoped
search keys, click and conversion events, and the staff preview. The engine itself is the `search` package."""
