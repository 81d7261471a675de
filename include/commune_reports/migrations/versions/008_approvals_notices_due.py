"""Approvals and notices due.

The district's decisions on a period's report (period_approvals) and the file notices owed
(notices_due).
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "008"
down_revision = "007"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "008_approvals_notices_due.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
