"""The ledger of received files.

The ledger: submissions, the values read (submission_values) and the problems found
(submission_errors).
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "002_ledger.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
