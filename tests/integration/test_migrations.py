"""The Alembic migrations create exactly the tables the models describe, and move the data
already there."""

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.migrate import MIGRATIONS


def _config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def test_models_and_migrations_agree(database_url: str) -> None:
    command.check(_config(database_url))  # raises when autogenerate would find a difference


async def test_phones_stored_as_typed_are_rewritten_in_e164(
    database_url: str, engine: AsyncEngine
) -> None:
    config = _config(database_url)
    command.downgrade(config, "7b3e9c41d2a8")
    typed = {"+1 (555) 987-7430": "+15559877430", "555.987.7431": "+15559877431", "12": "12"}
    async with engine.begin() as connection:
        for phone in typed:
            await connection.execute(
                text(
                    "INSERT INTO contact (id, first_name, last_name, phone, fields, "
                    "do_not_contact, mailing_address, created_at) VALUES "
                    "(gen_random_uuid(), 'A', 'B', :phone, '{}', '[]', '{}', now())"
                ),
                {"phone": phone},
            )
    command.upgrade(config, "head")
    async with engine.connect() as connection:
        stored = set(await connection.scalars(text("SELECT phone FROM contact")))
    assert stored == set(typed.values())
