"""Catalog reference tables.

The catalog's reference tables (units, metrics, metric_requirements, rates), periods and
catalog_state.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "001"
down_revision = None
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "001_catalog.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
