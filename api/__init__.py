"""The HTTP API (Litestar): catalog writes for staff, public storefront search, health and metrics."""
