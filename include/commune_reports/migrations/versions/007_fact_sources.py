"""The fact_sources view.

The view fact_sources: each fact with its unit's and metric's names, file, sheet, cell and
receipt.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "007"
down_revision = "006"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "007_fact_sources.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
