from alembic import command
from sqlalchemy import inspect

from textcast.db import Database
from textcast.migrate import alembic_config, upgrade
from textcast.models import Base


def _downgrade_to_base(database: Database) -> None:
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def test_migrations_go_down_and_up_again_to_the_models_schema(database: Database) -> None:
    _downgrade_to_base(database)
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    upgrade(database)
    tables = set(inspect(database.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
