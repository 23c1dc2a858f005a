"""Signed webhooks: endpoints (admin), their deliveries, stock.low thresholds, and the delivery worker."""
