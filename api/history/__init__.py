"""A product's audit trail and price history: GET /products/{id}/history and /products/{id}/prices."""
