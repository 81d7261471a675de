"""The unit tree.

The unit tree with its history: unit_tree, unit_successors, unit_current and the view
facts_as_now.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "009"
down_revision = "008"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "009_unit_hierarchy.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
