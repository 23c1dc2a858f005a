"""The SQLModel table models (db/models.py, db/media.py) describe the tables the Alembic migrations make.

The session database is migrated to head (tests/conftest.py `database`), then Alembic's autogenerate compares
`SQLModel.metadata` with the live schema. Only the tables that have a model are compared, and only their
columns: each one present on both sides, with the same type and the same nullability. Server defaults, indexes,
unique and foreign-key constraints, check constraints and triggers are left out: the models declare none of them
(the migrations own them), so a difference there would say nothing about a model being wrong.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Text
from sqlmodel import SQLModel

# Every module that declares a table model, so what is compared never depends on which tests ran first.
from db import media, models  # noqa: F401

COLUMN_DIFFERENCES = {"add_column", "remove_column", "modify_type", "modify_nullable", "add_table"}


def _table_of(diff: Any) -> str:
    """The table a difference is about: ("add_column", schema, table, column) or [("modify_type", ...)]."""
    first = diff[0] if isinstance(diff, list) else diff
    if first[0] == "add_table":
        return str(first[1].name)
    return str(first[2])


def _kind(diff: Any) -> str:
    return str((diff[0] if isinstance(diff, list) else diff)[0])


def _column_differences(engine: Engine, metadata: MetaData = SQLModel.metadata) -> list[Any]:
    modelled = set(metadata.tables)

    def only_modelled_tables(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or name in modelled  # the others are never reflected

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False,
                              "include_name": only_modelled_tables},
        )
        found = compare_metadata(context, metadata)
    return [d for d in found if _kind(d) in COLUMN_DIFFERENCES and _table_of(d) in modelled]


def test_every_table_model_matches_the_migrated_schema(engine: Engine) -> None:
    differences = _column_differences(engine)
    assert differences == [], "db/models.py differs from the migrations:\n" + "\n".join(map(repr, differences))


def test_the_comparison_sees_a_model_that_differs(engine: Engine) -> None:
    """A guard on the test above: a column the migrations never made is reported, so an empty list means a match."""
    copy = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(copy)
    copy.tables["products"].append_column(Column("not_in_any_migration", Text, nullable=False))
    differences = _column_differences(engine, copy)
    assert [(_kind(d), _table_of(d)) for d in differences] == [("add_column", "products")]
