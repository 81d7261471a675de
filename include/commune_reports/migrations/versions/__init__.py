"""The revisions, one per file of sql/schema, loaded by Alembic (never imported: this file
only makes the folder a package, so that setuptools installs it)."""
