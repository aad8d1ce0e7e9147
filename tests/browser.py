"""A real browser for the tests: Debian's chromium, driven by Playwright (which downloads no
browser build here: it is pointed at the system's executable)."""

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# A person's desktop browser, as sites see it: headless Chromium names itself HeadlessChrome,
# which tracking rightly takes for a robot, so the browser is started under this name.
DESKTOP_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/150.0.0.0 Safari/537.36"
)


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        return (
            f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium, "
            "or run `apt-get install chromium`"
        )
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # On the command line, the agent holds for every request, even a sandboxed frame's
        # (a context's user_agent does not reach those).
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[f"--user-agent={DESKTOP_AGENT}"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> None:
    """Keep the page as docs/screenshots/<name>.png when `make screenshots` asks (SCREENSHOTS
    names the folder); otherwise nothing."""
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        await page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
