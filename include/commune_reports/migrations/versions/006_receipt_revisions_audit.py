"""Receipt time, arrival order and audit.

submissions.file_modified_at, received_via and arrival_seq (filled for the files already there),
submission_events, notices_sent.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "006"
down_revision = "005"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "006_receipt_revisions_audit.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
