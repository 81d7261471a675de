"""Reconciliation and minimum checks.

check_rules.other_metric and level, figure_checks.reference_metric, submission_holds,
figure_lineage recreated (a 'min' metric is not shared out by a split's share).
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "013"
down_revision = "012"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "013_reconcile_checks.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
