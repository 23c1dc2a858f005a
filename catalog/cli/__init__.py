"""The `catalog` command: one entry point for every operation the project has, one module per command group.

Each module holds its commands' options and output and calls the part that does the work (`stack/`, `db/`,
`indexer/`, `media/`, the `api/` services and workers, `catalog/run.py`); this module only mounts them.
"""

from __future__ import annotations

import typer

from catalog.cli import api, db, indexer, integrations, media, quality, run, seed, stack, users

app = typer.Typer(
    help="Product catalog: dev stack, database, API, indexer, dashboard and tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Groups: `catalog <group> <command>`.
app.add_typer(stack.app, name="stack")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(indexer.app, name="indexer")
app.add_typer(quality.app, name="quality")
app.add_typer(media.app, name="media")
app.add_typer(integrations.webhooks_app, name="webhooks")

# Top-level commands, in the order `catalog --help` lists them.
app.command("reindex")(indexer.reindex)
app.command("verify")(indexer.verify)
app.command("seed")(seed.seed_command)
app.command("import")(integrations.import_command)
app.command("api")(api.run_api)
app.command("status")(run.run_status)
app.command("run")(run.run_all)
