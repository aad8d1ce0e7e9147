"""Administration from the shell: `python -m api.cli create-admin --email you@example.com`."""

import argparse
import asyncio
import sys

from settings import get_settings
from store import users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an admin user and print an API key")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    args = parser.parse_args(argv)

    url = get_settings().require_database_url()
    try:
        key = asyncio.run(users.create_admin(url, email=args.email, name=args.name))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"API key for {args.email} (shown once, keep it): {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
