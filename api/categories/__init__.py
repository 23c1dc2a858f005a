"""Categories: the slug-path tree, moves with their descendants, per-category attribute definitions."""
