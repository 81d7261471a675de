"""Marts per unit of the tree.

mart_totals, mart_rates and mart_completeness_rates recreated (derived data, rebuilt after the
upgrade), their indexes, mart_dirty.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "010"
down_revision = "009"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "010_unit_marts.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
