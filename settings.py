"""The one place that reads the environment.

Every value has a working default for the embedded stack that `make run` starts.
`DATABASE_URL` and `TEMPORAL_ADDRESS` left unset mean "use the embedded services";
the dev stack then passes the real addresses on to the worker and the API.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LINK_SECRET_LENGTH = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset starts an embedded PostgreSQL."
    )
    temporal_address: str | None = Field(
        default=None, description="host:port of a Temporal frontend; unset starts the dev server."
    )
    temporal_namespace: str = "default"
    temporal_task_queue: str = "enrollments"

    data_dir: Path = Path(".data")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    log_level: str = "INFO"
    default_phone_region: str = Field(
        default="US",
        pattern=r"^[A-Za-z]{2}$",
        description="Where phone numbers given without a country code are (ISO 3166, e.g. GB).",
    )
    log_format: str = Field(
        default="json", pattern="^(json|text)$", description="json: one object a line; text."
    )
    workflow_sandbox: bool = Field(
        default=False,
        description="Run workflow code in the SDK's sandbox: a guard that costs a third of a "
        "worker's CPU; the tests replay every committed history under it.",
    )
    worker_metrics_address: str | None = Field(
        default=None, description="host:port where the worker serves Prometheus /metrics."
    )
    smtp_host: str | None = Field(
        default=None, description="Mail server for email steps; unset leaves emails queued."
    )
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    mail_from: str = "campaigns@localhost"
    mailbox_port: int = Field(
        default=8025, description="`make run`'s mailbox page, when SMTP_HOST is unset."
    )
    mailbox_smtp_port: int = Field(
        default=1025, description="`make run`'s local SMTP sink, when SMTP_HOST is unset."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where recipients reach the API's links."
    )
    unsubscribe_secret: str | None = Field(
        default=None,
        description="Signs the links recipients and providers are given (unsubscribe, fax "
        f"documents); at least {LINK_SECRET_LENGTH} characters. `make run` makes one on its first "
        "start and keeps it in the data directory.",
    )
    http_post_allow_private: bool = Field(
        default=False, description="Let HTTP post steps reach loopback and private addresses."
    )
    http_post_signing_secret: str | None = Field(
        default=None, description="Signs each HTTP post body (X-Signature-256: sha256=HMAC)."
    )
    twilio_account_sid: str | None = Field(
        default=None, description="SMS, voice and fax provider account; unset leaves them queued."
    )
    twilio_auth_token: str | None = Field(
        default=None, description="Authenticates calls to the provider and checks its webhooks."
    )
    twilio_base_url: str = Field(
        default="https://api.twilio.com", description="The provider's API, Twilio-compatible."
    )
    twilio_fax_base_url: str = Field(
        default="https://fax.twilio.com", description="The provider's fax API."
    )
    sms_from: str | None = Field(default=None, description="Number SMS are sent from.")
    voice_from: str | None = Field(default=None, description="Number calls are placed from.")
    fax_from: str | None = Field(default=None, description="Number faxes are sent from.")
    send_rate_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Most messages per minute per channel over all sequences, e.g. {"sms": 60}.',
    )
    tracking_scanner_seconds: float = Field(
        default=10,
        ge=0,
        description="A click this soon after the email was sent is a mail scanner's, not a "
        "person's: it is kept on the timeline but satisfies no wait.",
    )
    tracked_sites: list[str] = Field(
        default_factory=list,
        description='Hosts of your websites (e.g. ["www.example.com"]) whose pages embed '
        "/t/visit.js: tracked links to them carry the visitor's token, and their pages may report "
        "visits with the visitor's cookie.",
    )
    imap_host: str | None = Field(
        default=None, description="A mailbox the worker polls for replies and bounces."
    )
    imap_port: int = 993
    imap_username: str | None = None
    imap_password: str | None = None
    imap_tls: bool = True
    imap_folder: str = "INBOX"
    imap_poll_seconds: float = Field(default=30, gt=0)
    inbound_webhook_url: str | None = Field(
        default=None,
        description="Where the worker hands polled mail; unset: the API at API_HOST:API_PORT.",
    )
    webhook_secret: str | None = Field(
        default=None,
        description="Checks email-provider webhooks (X-Signature-256: sha256=HMAC of the body).",
    )

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    def require_link_secret(self) -> str:
        """The links' signing secret; a process that would sign with none refuses to start."""
        secret = self.unsubscribe_secret or ""
        if len(secret) < LINK_SECRET_LENGTH:
            raise RuntimeError(
                f"UNSUBSCRIBE_SECRET must be set to at least {LINK_SECRET_LENGTH} characters: it "
                "signs unsubscribe and document links, which anyone could forge without it. "
                "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return secret

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set: start the stack with `make run`, or point "
                "DATABASE_URL at a PostgreSQL database."
            )
        return self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
