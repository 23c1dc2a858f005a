"""The Streamlit dashboard (dashboard/): every page through AppTest, the facts it reads, a real browser."""
