"""Administration from the shell: `python -m api.cli create-admin --email you@example.com`."""

import argparse
import asyncio
import sys

from settings import get_settings
from store import users
from store.db import create_engine, create_sessionmaker, transaction
from store.models import Role


async def create_admin(database_url: str, email: str, name: str) -> str:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            admin = await users.create_user(session, email=email, role=Role.admin, name=name)
            return await users.issue_api_key(session, admin.id)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an admin user and print an API key")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    args = parser.parse_args(argv)

    url = get_settings().require_database_url()
    key = asyncio.run(create_admin(url, args.email, args.name))
    print(f"API key for {args.email} (shown once, keep it): {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
