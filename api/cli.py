"""Administration from the shell: `python -m api.cli create-admin --email you@example.com`,
`python -m api.cli set-password --email you@example.com` (the password read from the terminal,
or from standard input when it is not one)."""

import argparse
import asyncio
import getpass
import sys

from api.errors import Invalid
from api.services.people import hash_password
from settings import get_settings
from store import users


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("New password: ")
    return sys.stdin.readline().rstrip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an admin user and print an API key")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    password = commands.add_parser("set-password", help="set a user's web app password")
    password.add_argument("--email", required=True)
    args = parser.parse_args(argv)

    url = get_settings().require_database_url()
    if args.command == "set-password":
        try:
            hashed = hash_password(_read_password())
        except Invalid as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        if not asyncio.run(
            users.replace_password_hash(url, email=args.email, password_hash=hashed)
        ):
            print(f"error: no user has the email {args.email}", file=sys.stderr)
            return 1
        print(f"Password set for {args.email}; its sessions are signed out.")
        return 0
    try:
        key = asyncio.run(users.create_admin(url, email=args.email, name=args.name))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"API key for {args.email} (shown once, keep it): {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
