"""Facts and the first marts.

The facts and the first marts: mart_totals, mart_rates, completeness, mart_completeness_rates.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "003"
down_revision = "002"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "003_facts.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
