"""${message}.

What sql/schema/${up_revision}_*.sql adds, in a sentence (the log and `warehouse history` show
the first line).
"""

from alembic import op

from commune_reports.migrations import irreversible
from commune_reports.settings import SQL_DIR
from commune_reports.warehouse import run_sql_file

revision = "${up_revision}"
down_revision = ${'"%s"' % down_revision if down_revision else None}
branch_labels = None
depends_on = None
SQL = SQL_DIR / "schema" / "${up_revision}_${message.lower().replace(" ", "_")}.sql"


def upgrade() -> None:
    run_sql_file(op.get_bind(), SQL)


def downgrade() -> None:
    irreversible(revision)
