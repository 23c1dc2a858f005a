"""Streamlit analytics dashboard: inventory, pricing, catalog quality and search insights (`dashboard/app.py`).
A part: its SQL is in `db.analytics`; it imports `db` and the shared base, and the API's search only for the
Search preview page (`dashboard.preview_data`, the one documented exception)."""
