"""Spreadsheet import: POST /products/import, GET /imports/{id}, the import worker and `catalog import`."""
