"""How the dashboard is served: the one `streamlit run` command line for `catalog run`, the bench and the tests.

The toolbar is in viewer mode: analysts get the viewer options (print, theme) but no Deploy, Rerun or Clear
cache, which Streamlit's default ("auto") shows to anyone opening the dashboard on localhost.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


def streamlit_command(port: int, address: str) -> list[str]:
    """`streamlit run dashboard/app.py` on `address:port`, headless, no usage statistics, viewer toolbar."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]
