"""What a chaos run did and found, and how it prints."""

from dataclasses import dataclass, field

# The worker records a hand-over right after the server's 250, so a kill more than this long
# after a message arrived finds it recorded: it cannot be sent again because of that kill.
KILL_WINDOW_S = 10.0


@dataclass
class Kill:
    at_s: float  # since the enrollments started
    emails_before: int  # at the sink when the worker died
    pause_s: float  # the worker was down this long before its restart began
    ready_s: float  # from the restart to the new worker polling
    # time.monotonic() (the sink's clock, to tell which redeliveries the kill explains), taken
    # once the worker was reaped: a copy the sink accepted while the signal landed is before it.
    dead_at: float


@dataclass
class TemporalRestart:
    at_s: float
    emails_before: int
    down_s: float  # the frontend port was closed this long (stop, pause, start)
    back_at: float  # time.monotonic() when the port opened again
    worker_survived: bool = True
    worker_exit_code: int | None = None  # when it did not survive
    resumed_after_s: float | None = None  # from the server being back to the next email
    api_ok_after_s: float | None = None  # from the server being back to the API's health saying so


@dataclass
class RetryFlow:
    """The contact whose address the sink refuses: failed, fixed, retried."""

    enrollment_id: str = ""
    workflow_id: str = ""
    failure_reason: str | None = None
    failed_in_temporal: bool = False  # EnrollmentStatus = 'failed' found by a visibility query
    failed_in_temporal_after_s: float | None = None  # after the API showed it failed
    fixed_address: str = ""
    retried_at_s: float | None = None
    emails: int = 0  # at the fixed address, in the end
    outbox: list[str] = field(default_factory=list)  # what the API lists for the contact


@dataclass(frozen=True)
class Redelivery:
    recipient: str
    step: int
    message_id: str
    copies: int

    @property
    def extra(self) -> int:
        return self.copies - 1


@dataclass
class MailTally:
    expected: int = 0
    received: int = 0
    distinct_message_ids: int = 0
    # (recipient, step) that never arrived
    lost: list[tuple[str, int]] = field(default_factory=list)
    # (recipient, step) that arrived as more than one message (distinct Message-IDs)
    duplicated: list[tuple[str, int]] = field(default_factory=list)
    # One message received more than once (the same Message-ID), split by cause. After a kill:
    # each later copy follows a worker SIGKILL at most KILL_WINDOW_S after the copy before it,
    # the at-least-once window no plain SMTP server lets us close. Otherwise: a bug.
    redelivered_after_kill: list[Redelivery] = field(default_factory=list)
    redelivered: list[Redelivery] = field(default_factory=list)
    shared_message_ids: int = 0  # Message-IDs carried by more than one (recipient, step)
    unexpected: int = 0  # messages to no expected recipient, or with no step in the subject
    refused: int = 0  # RCPT answered 550 by the sink

    def redelivery_line(self) -> str:
        explained = sum(r.extra for r in self.redelivered_after_kill)
        unexplained = sum(r.extra for r in self.redelivered)
        why = (
            f"within {KILL_WINDOW_S:.0f} s before a worker SIGKILL: the at-least-once window "
            "between the server's 250 and the worker's record; same Message-ID"
        )
        if not unexplained:
            return f"redelivered {explained}" + (f" (all {why})" if explained else "")
        bug = f"{unexplained} after no worker SIGKILL that explains them: a bug"
        if not explained:
            return f"redelivered {unexplained} ({bug})"
        return f"redelivered {explained + unexplained} ({explained} {why}; {bug})"


@dataclass
class ChaosReport:
    seed: int
    contacts: int
    root: str = ""  # the scratch directory
    ports: list[int] = field(default_factory=list)  # API, Temporal, SMTP sink
    enrollments: int = 0
    completed: int = 0
    duration_s: float = 0.0
    setup_s: float = 0.0
    run_s: float = 0.0  # from the bulk enrollment to the last completion
    kills: list[Kill] = field(default_factory=list)
    temporal_restarts: list[TemporalRestart] = field(default_factory=list)
    retry: RetryFlow = field(default_factory=RetryFlow)
    mail: MailTally = field(default_factory=MailTally)
    violations: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def lines(self) -> list[str]:
        mail = self.mail
        out = [
            f"chaos run (seed {self.seed}): {self.contacts} contacts + 1 refused-then-fixed",
            f"  enrollments: {self.enrollments}, completed {self.completed}",
            f"  emails: expected {mail.expected}, received {mail.received}, "
            f"distinct Message-IDs {mail.distinct_message_ids}; lost {len(mail.lost)}, "
            f"duplicated {len(mail.duplicated)}, {mail.redelivery_line()}, "
            f"unexpected {mail.unexpected}; refused by the sink {mail.refused}",
        ]
        for number, kill in enumerate(self.kills, 1):
            out.append(
                f"  worker kill {number}: at {kill.at_s:.1f}s after {kill.emails_before} emails, "
                f"down {kill.pause_s:.1f}s, new worker polling after {kill.ready_s:.1f}s"
            )
        for number, restart in enumerate(self.temporal_restarts, 1):
            worker = (
                "worker kept running"
                if restart.worker_survived
                else f"worker exited (code {restart.worker_exit_code}) and was restarted"
            )
            out.append(
                f"  Temporal restart {number}: at {restart.at_s:.1f}s after "
                f"{restart.emails_before} emails, port closed {restart.down_s:.1f}s; {worker}; "
                f"next email {_seconds(restart.resumed_after_s, 'none')} after it was back, "
                f"API healthy after {_seconds(restart.api_ok_after_s)}"
            )
        retry = self.retry
        out.append(
            f"  refused address: failed with {retry.failure_reason!r}; failed in Temporal "
            f"visibility after {_seconds(retry.failed_in_temporal_after_s)}; retried at "
            f"{_seconds(retry.retried_at_s)}; {retry.emails} emails at {retry.fixed_address}; "
            f"outbox: {', '.join(retry.outbox) or '-'}"
        )
        out.append(
            f"  duration {self.duration_s:.1f}s (setup {self.setup_s:.1f}s, "
            f"enrollments running {self.run_s:.1f}s)"
        )
        if self.violations:
            out.append(f"FAILED: {len(self.violations)} violation(s)")
            out.extend(f"  - {violation}" for violation in self.violations)
            out.extend(f"  {line}" for line in self.diagnostics)
        else:
            out.append("OK: nothing lost, nothing duplicated, every enrollment completed")
        return out


def _seconds(value: float | None, missing: str = "never") -> str:
    return missing if value is None else f"{value:.1f}s"
