"""Tracking an email: its links rewritten to signed redirects, and an open pixel.

Links left as written: anything but http(s) (mailto:, tel:), and those the HTML marks
`data-untracked` (the same URL in the text part too). The unsubscribe link is added after
tracking, so it is never rewritten.
"""

import re
from collections.abc import Callable
from html import escape, unescape

_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_UNTRACKED = re.compile(r"\sdata-untracked\b", re.IGNORECASE)
# A URL in plain text ends at white space or a character that cannot end one there.
_TEXT_URL = re.compile(r"""https?://[^\s<>"']+[^\s<>"'.,;:!?)\]]""", re.IGNORECASE)
_CLOSING_BODY = re.compile(r"</body\s*>", re.IGNORECASE)


def _tracked(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _target(href: re.Match[str]) -> str:
    """The link an `href` names, whichever quotes it is in."""
    return unescape(href.group(2) if href.group(2) is not None else href.group(3))


def untracked_links(html: str | None) -> set[str]:
    """The targets of the HTML's links marked `data-untracked`."""
    found = set()
    for anchor in _ANCHOR.findall(html or ""):
        href = _HREF.search(anchor)
        if href and _UNTRACKED.search(anchor):
            found.add(_target(href))
    return found


def track_html(html: str, redirect: Callable[[str], str], pixel: str) -> str:
    """Each tracked link through `redirect`, and the open pixel at the end of the body."""

    def anchor(match: re.Match[str]) -> str:
        tag = match.group(0)
        if _UNTRACKED.search(tag):
            return tag
        href = _HREF.search(tag)
        if href is None:
            return tag
        url = _target(href).strip()
        if not _tracked(url):
            return tag
        rewritten = f'{href.group(1)}"{escape(redirect(url))}"'
        return tag[: href.start()] + rewritten + tag[href.end() :]

    tracked = _ANCHOR.sub(anchor, html)
    image = f'<img src="{escape(pixel)}" width="1" height="1" alt="" style="display:none">'
    closing = list(_CLOSING_BODY.finditer(tracked))
    if not closing:
        return tracked + image
    at = closing[-1].start()
    return tracked[:at] + image + tracked[at:]


def track_text(text: str, redirect: Callable[[str], str], untracked: set[str]) -> str:
    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        return url if url in untracked else redirect(url)

    return _TEXT_URL.sub(link, text)
