"""`python -m api.cli create-admin` prints a working key once, and refuses a duplicate email;
`set-password` gives a user a password that signs in to the web app."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from api.services import people
from store.db import SessionMaker

ROOT = Path(__file__).resolve().parents[2]


def _cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _create_admin(database_url: str, email: str) -> subprocess.CompletedProcess[str]:
    return _cli(database_url, "create-admin", "--email", email)


async def test_create_admin_prints_a_key_that_works(
    database_url: str, api: httpx.AsyncClient
) -> None:
    created = _create_admin(database_url, "ops@example.com")
    assert created.returncode == 0, created.stderr
    key = re.fullmatch(
        r"API key for ops@example.com \(shown once, keep it\): (csk_\S+)\n", created.stdout
    )
    assert key, created.stdout

    response = await api.get("/contacts", headers={"Authorization": f"Bearer {key.group(1)}"})
    assert response.status_code == 200

    again = _create_admin(database_url, "ops@example.com")
    assert again.returncode == 1
    assert again.stderr.strip() == "error: a user with email ops@example.com already exists"


async def test_set_password_lets_the_user_sign_in_to_the_web_app(
    database_url: str, sessionmaker: SessionMaker
) -> None:
    assert _create_admin(database_url, "web@example.com").returncode == 0
    short = _cli(database_url, "set-password", "--email", "web@example.com", stdin="short\n")
    assert short.returncode == 1 and "10 to 200 characters" in short.stderr
    unknown = _cli(database_url, "set-password", "--email", "no@example.com", stdin="a" * 12)
    assert unknown.returncode == 1 and "no user has the email" in unknown.stderr
    done = _cli(
        database_url, "set-password", "--email", "web@example.com", stdin="long enough words\n"
    )
    assert done.returncode == 0, done.stderr
    async with sessionmaker() as session:
        assert await people.sign_in_with_password(session, "web@example.com", "long enough words")
        assert (
            await people.sign_in_with_password(session, "WEB@example.com", "wrong words!") is None
        )
