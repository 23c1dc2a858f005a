"""Products: the `/products` contract, bulk upsert by SKU, optimistic concurrency with ETag/If-Match."""
