"""Data out: product export (CSV, XLSX, NDJSON) and Google Merchant Center feeds (XML, TSV)."""
