"""Streamlit analytics dashboard: inventory, pricing, catalog quality and search insights (`dashboard/app.py`)."""
