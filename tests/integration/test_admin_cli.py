"""`python -m api.cli create-admin` prints a working key once, and refuses a duplicate email."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _create_admin(database_url: str, email: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "create-admin", "--email", email],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


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
