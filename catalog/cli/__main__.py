"""`python -m catalog.cli ...`: the `catalog` command without its console script (tests and benches start it so)."""

from catalog.cli import app

app(prog_name="catalog")
