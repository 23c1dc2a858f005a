"""Streamlit analytics dashboard: inventory, pricing, catalog quality and search insights (`dashboard/app.py`).
A part: its SQL is in `db.analytics`; it imports `db`, the shared base, and the search engine (`search`) for the
Search preview page (`dashboard.preview_data`), never `api`."""
