"""Alembic's environment of the warehouse: the revisions run on the connection the caller
passes in ``config.attributes["connection"]`` and inside its transaction.
:func:`commune_reports.warehouse.ensure_schema` passes its writer's (one writer at a time; the
whole upgrade, the catalog sync and the marts commit together or not at all: DDL is
transactional on SQLite and PostgreSQL alike). There is no ``alembic.ini`` and no offline
(``--sql``) mode: ``commune-reports warehouse upgrade`` is the way to run them by hand."""

from alembic import context

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "the warehouse's migrations run on a connection passed in by "
        "commune_reports.migrations.config(connection): use `commune-reports warehouse "
        "upgrade` (it also stamps a warehouse of the former runner, syncs the catalog and "
        "rebuilds the marts a migration changes)"
    )
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
