"""Figure checks.

check_rules, figure_checks, mart_totals.reports_received, definition_min and definition_max.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "012"
down_revision = "011"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "012_figure_checks.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
