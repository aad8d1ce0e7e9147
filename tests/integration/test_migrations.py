"""The Alembic migrations create exactly the tables the models describe."""

from alembic import command
from alembic.config import Config

from store.migrate import MIGRATIONS


def test_models_and_migrations_agree(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.check(config)  # raises when autogenerate would find a difference
