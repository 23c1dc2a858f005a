"""Spreadsheets into bulk items: CSV (stdlib csv) or XLSX (openpyxl), one header row, one product per row.

Columns: the product fields (`sku` required; `category` takes a category path instead of `category_id`; `images`
separated by `|`), `attr.<name>` for attributes (together they replace the product's attributes), and
`stock.<WAREHOUSE CODE>` for the units on hand there. Attribute cells take their type from the attribute's
definition; undefined ones are numbers when they read like one (not long digit codes), lists when `|`-separated.
`id` (as exported) is ignored. `group_code` puts the row's product in that product group (a variant), creating the
group from the first row with the code when none has it yet (`api.groups.service.groups_by_code`); the variant needs
a value for each of the group's axes (else MISSING_VARIANT_AXIS). An empty cell leaves the field as it is, and for a
variant a name, brand, category, description or images cell that repeats its group's value leaves it inherited
(`leave_inherited`), so an exported catalog imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from api.products.schemas import BulkItem
from api.products.validation import Reference
from db.variants import INHERITABLE, GroupFacts

PRODUCT_COLUMNS = ("sku", "name", "description", "brand", "price", "currency", "status", "category_id", "images",
                   "group_code")
IGNORED_COLUMNS = ("id",)
ATTR_PREFIX, STOCK_PREFIX = "attr.", "stock."
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_AT_PATH = re.compile(r"at `\$\.([a-z_]+)(?:\.([a-z0-9_]+))?`|in `\$\.([a-z_]+)`")
XLSX_MAGIC = b"PK\x03\x04"
# Without a definition a cell is a number when it reads like a quantity; long digit runs (GTIN, EAN, phone) and
# leading zeros stay text.
_NUMBER = re.compile(r"^-?(0|[1-9]\d{0,6})(\.\d+)?$")


class FileProblem(Exception):
    """The file cannot be read as a spreadsheet at all."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class Columns:
    fields: dict[int, str] = field(default_factory=dict)
    attributes: dict[int, str] = field(default_factory=dict)
    stock: dict[int, tuple[str, int]] = field(default_factory=dict)
    category_path: int | None = None
    problems: list[RowError] = field(default_factory=list)


@dataclass
class Row:
    number: int
    item: BulkItem | None
    stock: dict[int, int]
    errors: list[RowError]


def detect_format(filename: str, content_type: str, data: bytes) -> str | None:
    """'xlsx' or 'csv' from the bytes (an XLSX is a zip), then the name and content type; None if neither."""
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    lowered = filename.lower()
    if lowered.endswith((".csv", ".tsv", ".txt")) or "csv" in content_type or content_type.startswith("text/"):
        return "csv"
    return None


def read_rows(data: bytes, fmt: str) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The header and the non-empty data rows with their spreadsheet row numbers (the header is row 1)."""
    rows = _csv_rows(data) if fmt == "csv" else _xlsx_rows(data)
    if not rows:
        raise FileProblem("The file is empty: it needs a header row (sku, name, price, ...).")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    body = [(n, list(r)) for n, r in enumerate(rows[1:], start=2) if any(_blank(v) is not None for v in r)]
    return header, body


def _csv_rows(data: bytes) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"The CSV is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8'.") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise FileProblem(f"The CSV is malformed: {exc}") from None


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileProblem(f"The XLSX cannot be read: {exc}") from None
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def plan_columns(header: list[str], warehouses: dict[str, int]) -> Columns:
    cols = Columns()
    seen: set[str] = set()
    for index, name in enumerate(header):
        key = name.lower() if not name.startswith((ATTR_PREFIX, STOCK_PREFIX)) else name
        if key in seen:
            cols.problems.append(RowError(1, name, "DUPLICATE_COLUMN", f"Column {name!r} appears twice."))
            continue
        seen.add(key)
        if key in PRODUCT_COLUMNS:
            cols.fields[index] = key
        elif key == "category":
            cols.category_path = index
        elif key in IGNORED_COLUMNS or key == "":
            continue
        elif key.startswith(ATTR_PREFIX):
            attribute = key.removeprefix(ATTR_PREFIX)
            if not _ATTRIBUTE_NAME.match(attribute):
                cols.problems.append(
                    RowError(
                        1, name, "INVALID_ATTRIBUTE_NAME", "Attribute names are lowercase letters, digits and '_'."
                    )
                )
            else:
                cols.attributes[index] = attribute
        elif key.startswith(STOCK_PREFIX):
            code = key.removeprefix(STOCK_PREFIX)
            if code not in warehouses:
                cols.problems.append(RowError(1, name, "UNKNOWN_WAREHOUSE", f"No warehouse has the code {code!r}."))
            else:
                cols.stock[index] = (code, warehouses[code])
        else:
            cols.problems.append(
                RowError(
                    1,
                    name,
                    "UNKNOWN_COLUMN",
                    f"Unknown column {name!r}: use "
                    f"{', '.join(PRODUCT_COLUMNS)}, category, attr.<name> or stock.<WAREHOUSE>.",
                )
            )
    if "sku" not in cols.fields.values():
        cols.problems.append(RowError(1, "sku", "MISSING_COLUMN", "The header needs a sku column."))
    return cols


def _blank(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def attribute_types(ref: Reference) -> dict[str, str]:
    """Each attribute name's type where every category that defines it agrees."""
    types: dict[str, set[str]] = {}
    for definitions in ref.definitions.values():
        for definition in definitions:
            types.setdefault(definition.name, set()).add(definition.type)
    return {name: next(iter(kinds)) for name, kinds in types.items() if len(kinds) == 1}


def _attribute(value: Any, kind: str | None) -> Any:
    if not isinstance(value, str):
        return value
    if kind == "list" or (kind is None and "|" in value):
        return [part.strip() for part in value.split("|") if part.strip()]
    if kind == "boolean" or (kind is None and value.lower() in ("true", "false")):
        if value.lower() in ("true", "yes", "1"):
            return True
        if value.lower() in ("false", "no", "0"):
            return False
        return value  # validation names it
    if kind == "number" or (kind is None and _NUMBER.match(value)):
        for parse in (int, float):
            try:
                return parse(value)
            except ValueError:
                continue
    return value


def _field(name: str, value: Any) -> Any:
    if name == "price":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError("not a number") from None
    if name == "category_id":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return int(str(value))
    if name == "images":
        return [part for part in re.split(r"[|\s]+", str(value)) if part]
    if name in ("sku", "currency", "status", "group_code") and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _validation_error(number: int, message: str) -> RowError:
    column = None
    if match := _AT_PATH.search(message):
        top, sub, key_of = match.group(1), match.group(2), match.group(3)
        column = f"{ATTR_PREFIX}{sub}" if top == "attributes" and sub else (top or key_of)
    return RowError(number, column, "INVALID_VALUE", message)


def to_row(number: int, values: list[Any], cols: Columns, ref: Reference, kinds: dict[str, str]) -> Row:
    raw: dict[str, Any] = {}
    errors: list[RowError] = []
    for index, name in cols.fields.items():
        value = _blank(values[index]) if index < len(values) else None
        if value is None:
            continue
        try:
            raw[name] = _field(name, value)
        except ValueError as exc:
            errors.append(RowError(number, name, "INVALID_VALUE", f"{name}: {exc}"))
    if cols.category_path is not None and cols.category_path < len(values):
        path = _blank(values[cols.category_path])
        if path is not None:
            if str(path) not in ref.ids_by_path:
                errors.append(RowError(number, "category", "CATEGORY_NOT_FOUND", f"No category has the path {path!r}."))
            else:
                raw["category_id"] = ref.ids_by_path[str(path)]
    if cols.attributes:
        attributes = {
            name: _attribute(_blank(values[i]), kinds.get(name))
            for i, name in cols.attributes.items()
            if i < len(values) and _blank(values[i]) is not None
        }
        raw["attributes"] = attributes
    stock: dict[int, int] = {}
    for index, (code, warehouse_id) in cols.stock.items():
        value = _blank(values[index]) if index < len(values) else None
        if value is None:
            continue
        try:
            quantity = int(float(value)) if isinstance(value, float) else int(str(value))
            if quantity < 0 or quantity > 1_000_000_000:
                raise ValueError
        except ValueError:
            errors.append(
                RowError(
                    number,
                    f"{STOCK_PREFIX}{code}",
                    "INVALID_STOCK",
                    "Stock on hand is a whole number from 0 to 1,000,000,000.",
                )
            )
            continue
        stock[warehouse_id] = quantity
    if "sku" not in raw and not any(e.column == "sku" for e in errors):
        errors.append(RowError(number, "sku", "MISSING_VALUE", "Every row needs a sku."))
    item: BulkItem | None = None
    if not errors:
        try:
            item = msgspec.convert(raw, BulkItem, strict=False)
        except msgspec.ValidationError as exc:
            errors.append(_validation_error(number, str(exc)))
    return Row(number, item, stock, errors)


# What a variant's write sends to take a field from its group again (see api.products.schemas.ProductUpdate).
_FROM_GROUP: dict[str, Any] = {"name": None, "brand": None, "category_id": None, "description": "", "images": []}


def leave_inherited(item: BulkItem, group: GroupFacts) -> None:
    """A cell that repeats what the group gives its variants (name, brand, category, description, images) means
    "the group's": the variant inherits the field and follows later changes to the group, instead of turning the
    copy an export wrote out into a value of its own. A cell that differs is the variant's own value."""
    for name in INHERITABLE:
        value = getattr(item, name)
        if value is not msgspec.UNSET and value == group.value(name):
            setattr(item, name, _FROM_GROUP[name])


def column_of(field_name: str) -> str:
    """The spreadsheet column of a bulk error's field (`attributes.color` -> `attr.color`)."""
    if field_name.startswith("attributes."):
        return ATTR_PREFIX + field_name.removeprefix("attributes.")
    return field_name
