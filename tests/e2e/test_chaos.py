"""`make chaos` at a small size: a real stack, a worker SIGKILLed and Temporal restarted while
enrollments run, then every email counted at the SMTP sink.

One run feeds every test below, so each property fails on its own with the run's report.
"""

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.chaos import FIXED, REFUSED, ChaosConfig, run
from bench.chaos_checks import tally_mail
from bench.chaos_report import ChaosReport, Redelivery
from bench.chaos_setup import STEPS
from bench.sink import Received
from bench.stack import port_open

CONTACTS = 30


@pytest.fixture(scope="module")
def report() -> ChaosReport:
    config = ChaosConfig(contacts=CONTACTS, kills=1, temporal_restarts=1, timeout_s=100)
    # On a thread of its own, so the run's event loop never meets the test session's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run, config).result()


def _explained(report: ChaosReport) -> str:
    return "\n".join(report.lines())


def test_the_faults_were_injected_and_the_system_recovered(report: ChaosReport) -> None:
    assert len(report.kills) == 1, _explained(report)
    [restart] = report.temporal_restarts
    assert restart.resumed_after_s is not None, "the worker never sent again after the restart"
    assert restart.api_ok_after_s is not None, "the API never reached Temporal again"


def test_every_enrollment_completed(report: ChaosReport) -> None:
    assert report.enrollments == CONTACTS + 1
    assert report.completed == report.enrollments, _explained(report)


def test_every_contact_got_each_email_as_one_message(report: ChaosReport) -> None:
    mail = report.mail
    # The retried contact's mail is judged on its own below.
    assert [pair for pair in mail.lost if pair[0] != FIXED] == [], _explained(report)
    assert mail.duplicated == [], _explained(report)
    # The same Message-ID twice is tolerated only right after a worker SIGKILL (at-least-once).
    assert mail.redelivered == [], _explained(report)
    assert mail.shared_message_ids == 0, _explained(report)
    assert mail.unexpected == 0, _explained(report)


def test_a_refused_address_fails_the_enrollment_with_the_reason(report: ChaosReport) -> None:
    retry = report.retry
    assert retry.failure_reason is not None, _explained(report)
    # Which step fails is the first one whose delivery is refused: email1.
    assert retry.failure_reason.startswith("step 'email"), retry.failure_reason
    assert f"the mail server refused {REFUSED}" in retry.failure_reason
    assert retry.failed_in_temporal, "EnrollmentStatus = 'failed' did not find the workflow"
    assert report.mail.refused >= 1


def test_after_the_fix_a_retry_sends_each_email_once(report: ChaosReport) -> None:
    assert report.retry.retried_at_s is not None, _explained(report)
    assert report.retry.emails == STEPS, _explained(report)
    assert [pair for pair in report.mail.lost if pair[0] == FIXED] == []


def test_nothing_is_left_running(report: ChaosReport) -> None:
    assert not Path(report.root).exists()
    for port in report.ports:
        assert not port_open(port), f"port {port} is still open"
    leftovers = subprocess.run(["pgrep", "-f", report.root], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "processes of the stack still run"


def test_the_tally_tells_lost_duplicated_and_redelivered_mail_apart() -> None:
    def mail(to: str, step: int, message_id: str) -> Received:
        return Received(to, message_id, f"Chaos step {step} for Ada", at=0.0)

    received = [
        mail("a@example.com", 1, "<1>"),
        mail("a@example.com", 2, "<2>"),
        mail("a@example.com", 2, "<2>"),  # sent again after a crash
        mail("b@example.com", 1, "<3>"),
        mail("b@example.com", 1, "<4>"),  # a second message for one step
        mail("c@example.com", 1, "<5>"),  # nobody expected it
    ]
    tally, violations = tally_mail(received, ["a@example.com", "b@example.com"], steps=2)
    assert tally.lost == [("b@example.com", 2)]
    assert tally.duplicated == [("b@example.com", 1)]
    assert tally.redelivered == [Redelivery("a@example.com", 2, "<2>", 2)]
    assert (tally.expected, tally.received, tally.unexpected) == (4, 6, 1)
    assert [v.split(":")[0] for v in violations] == [
        "lost",
        "duplicated",
        "redelivered",
        "unexpected",
    ]
