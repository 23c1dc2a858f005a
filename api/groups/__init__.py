"""Product groups: models sold in variants."""
