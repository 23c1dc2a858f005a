"""The storefront search API (api/search/): ranking, facets, cache and freshness, events, keys, rules, groups."""
