"""Fixtures every kind of test may ask for."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from tests.browser import chromium, chromium_missing


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, started once for the tests that ask for it; they skip, loudly, only
    where it cannot be installed."""
    missing = chromium_missing()
    if missing:
        pytest.skip(f"NO BROWSER, the browser tests cannot run: {missing}")
    async with chromium() as running:
        yield running
