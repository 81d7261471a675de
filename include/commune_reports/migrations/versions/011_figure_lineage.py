"""Figure lineage.

metric_definitions, facts.definition_version, the views period_groups, unit_bases, unit_feeds,
figure_lineage and delivery_values, two indexes.
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "011"
down_revision = "010"
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "011_figure_lineage.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
