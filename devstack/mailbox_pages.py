"""The pages `make run`'s mailbox serves: the mail it caught, each message with its links and
a form to reply as the recipient, and a small stand-in for the customer's website whose pages
embed the API's visit script."""

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.mailbox import StoredMessage

SITE_PAGES = ("home", "pricing", "about")
_LINK = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)
_STYLE = """<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; }
table { border-collapse: collapse; } td, th { padding: .2em .8em; text-align: left; vertical-align: top; }
tr:nth-child(even) { background: #f4f4f4; } pre { white-space: pre-wrap; background: #f8f8f8; padding: .8em; }
iframe { width: 100%; height: 24em; border: 1px solid #ccc; } textarea { width: 100%; height: 6em; }
.said { background: #eef6ee; padding: .6em; border: 1px solid #9c9; }
</style>"""


def mail_policy(api: str | None) -> str:
    """Mail is someone else's markup: nothing on the mailbox's pages may run, and nothing load
    but the images the API serves (a tracked email's open pixel, shown as a mail client
    shows it)."""
    return f"default-src 'none'; style-src 'unsafe-inline'; img-src data: {api or ''}".strip()


def site_policy(api: str) -> str:
    """The website may run the API's visit script and let it report, and nothing else."""
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src {api}; connect-src {api}"


def _page(title: str, body: str, *, refresh: bool = False, head: str = "") -> str:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return (
        f'<!doctype html><html><head><meta charset="utf-8">{meta}{head}'
        f"<title>{html.escape(title)}</title>{_STYLE}</head><body>{body}</body></html>"
    )


def index_page(messages: "list[StoredMessage]") -> str:
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(m.header('Date') or m.received_at.isoformat())}</td>"
        f"<td>{html.escape(m.header('From'))}</td>"
        f"<td>{html.escape(m.header('To'))}</td>"
        f'<td><a href="/messages/{m.id}">{html.escape(m.header("Subject") or "(no subject)")}</a></td>'
        "</tr>"
        for m in messages
    )
    table = (
        f"<table><tr><th>Date</th><th>From</th><th>To</th><th>Subject</th></tr>{rows}</table>"
        if messages
        else "<p>No mail yet.</p>"
    )
    return _page(
        "Mailbox",
        f'<h1>Mailbox</h1><p><a href="/messages.json">JSON</a> · '
        f'<a href="/site/home">Your website</a></p>{table}',
        refresh=True,
    )


def links_in(markup: str) -> list[str]:
    """The web links of an email's HTML, in order, each once."""
    return list(dict.fromkeys(html.unescape(link) for link in _LINK.findall(markup)))


def message_page(message: "StoredMessage", *, can_reply: bool, said: str | None = None) -> str:
    headers = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in message.message.items()
    )
    sections = [f'<p><a href="/">All mail</a></p><h1>{html.escape(message.header("Subject"))}</h1>']
    if said:
        sections.append(f'<p class="said">{html.escape(said)}</p>')
    sections.append(f"<table>{headers}</table>")
    text = message.part("plain")
    if text is not None:
        sections.append(f"<h2>Plain text</h2><pre>{html.escape(text)}</pre>")
    markup = message.part("html")
    if markup is not None:
        # The email's own links, to follow as its recipient would: the HTML below cannot.
        items = "".join(
            f'<li><a href="{html.escape(link, quote=True)}" rel="noreferrer">'
            f"{html.escape(link)}</a></li>"
            for link in links_in(markup)
        )
        if items:
            sections.append(f"<h2>Links</h2><ul>{items}</ul>")
        # sandbox="" with no allowances: no scripts, forms, navigation or same-origin access.
        sections.append(
            f'<h2>HTML</h2><iframe sandbox="" srcdoc="{html.escape(markup, quote=True)}"></iframe>'
            f"<details><summary>HTML source</summary><pre>{html.escape(markup)}</pre></details>"
        )
    if can_reply:
        sections.append(
            f"<h2>Reply as {html.escape(message.header('To'))}</h2>"
            f'<form method="post" action="/messages/{message.id}/reply">'
            '<textarea name="text" required>Thanks, I am interested.</textarea>'
            "<p><button>Send the reply</button> (handed to the API's inbound webhook, as a "
            "provider would)</p></form>"
        )
    return _page(message.header("Subject") or "(no subject)", "".join(sections))


def site_page(name: str, api: str) -> str:
    """A page of the stand-in website, as a customer's page embeds the visit script."""
    visit_script = f"{api.rstrip('/')}/t/visit.js"
    menu = " · ".join(f'<a href="/site/{page}">{page.title()}</a>' for page in SITE_PAGES)
    return _page(
        f"Example Co: {name}",
        f"<p>{menu}</p><h1>{html.escape(name.title())}</h1>"
        "<p>A page of your website. Visits by a contact who came from a tracked link are "
        "reported to the API as <code>page_visited</code>.</p>",
        head=f'<script src="{html.escape(visit_script, quote=True)}" async></script>',
    )
