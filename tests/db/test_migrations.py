"""Migrations: upgrade, downgrade, upgrade again, and no drift between models and migrations."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from coordination.db import Base, downgrade_database, upgrade_database


def test_upgrade_downgrade_upgrade_leaves_no_drift(engine):
    # db_url gives a database already at head (built by the migrations themselves).
    assert "intervention" in inspect(engine).get_table_names()
    downgrade_database(engine, "base")
    remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()
    upgrade_database(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_alembic_config_accepts_percent_encoded_urls():
    from coordination.db import alembic_config

    url = "postgresql+psycopg://user:p%40ss@127.0.0.1/db?options=-csearch_path%3Dbench"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url
