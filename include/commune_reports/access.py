"""Who may read the warehouse: a read-only login for analysts (PostgreSQL), so that the
figures can be queried with SQL without sharing the owner's right to change them."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import ensure_schema, run_sql_file, writing

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def reader_group(database: str) -> str:
    """The group role that holds the rights of one warehouse's readers."""
    return f"{database[:56]}_reader"


class AccessError(ValueError):
    """A reader cannot be made as asked (wrong name, or not PostgreSQL)."""


def create_reader(engine: Engine, name: str, password: str | None = None) -> str:
    """Create (or bring back to read-only) the login ``name``: SELECT on every table and
    view of the warehouse, now and later, and nothing else. Returns the database name."""
    if engine.dialect.name != "postgresql":
        raise AccessError(
            "chỉ PostgreSQL có vai trò người dùng; với SQLite, hãy mở bản sao chỉ đọc "
            "(sqlite3 'file:warehouse.db?mode=ro') / only PostgreSQL has roles; with SQLite, "
            "give analysts a read-only copy or open it with ?mode=ro"
        )
    if not _NAME.match(name) or name in {"postgres", "public"} or name.endswith("_reader"):
        raise AccessError(
            f"tên vai trò không hợp lệ: {name!r} (chữ thường, số, gạch dưới) / not a valid role "
            f"name: {name!r} (lower-case letters, digits and underscores, not ending _reader)"
        )
    ensure_schema(engine)  # the tables exist, so their owner is known and they are granted
    with engine.connect() as conn:
        owner = conn.execute(
            text(
                "SELECT tableowner FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename = 'facts'"
            )
        ).scalar()
        user, database = conn.execute(text("SELECT current_user, current_database()")).one()
        if name in {owner, user}:
            raise AccessError(
                f"{name} sở hữu kho dữ liệu, không thể là người chỉ đọc / {name} owns the "
                "warehouse and cannot be made a reader"
            )
    try:
        with writing(engine) as conn:
            run_sql_file(
                conn,
                SQL_DIR / "roles" / "reader.sql",
                {
                    "reader": name,
                    "password": password or "",
                    "reader_group": reader_group(database),
                },
            )
        return str(database)
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        raise AccessError(
            "người dùng của COMMUNE_REPORTS_WAREHOUSE_URL cần quyền CREATEROLE (hoặc là chủ kho "
            "và siêu người dùng) / the role of COMMUNE_REPORTS_WAREHOUSE_URL needs CREATEROLE: "
            "run this as the warehouse's owner with CREATEROLE, or as a superuser"
        ) from exc
