"""Remote sources: intake_items (what a mailbox, SFTP drop or object store offered, and
what became of it) and intake_replies (the verdicts mailed back)."""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "014"
down_revision = "013"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "014_intake.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
