"""The HTTP API (api/): products, categories, inventory, users, security, limits, groups, quality, fuzzing."""
