"""The alerts ledger.

alerts_sent: every alert delivered, so that a rerun sends nothing twice.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "004"
down_revision = "003"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "004_alerts.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
