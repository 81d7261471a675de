"""Reader warnings.

submission_warnings: what the reader noted in a file it still loaded.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "005_submission_warnings.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
