"""How a chaos run's tally judges the mail at the sink: no server, only Received records.

A redelivery (one Message-ID arriving twice) is forgiven only when a worker SIGKILL landed
within KILL_WINDOW_S after the copy before it: the worker had the server's 250 but not yet
its own record. Anything else sent twice is a bug.
"""

from bench.chaos_checks import explained_by_kills, tally_mail
from bench.chaos_report import KILL_WINDOW_S, MailTally, Redelivery
from bench.sink import Received

ADA = "ada@example.com"
BOB = "bob@example.com"
STEPS = 2
# A monotonic clock reads anything; well away from 0 so no arithmetic hides behind it.
T0 = 5_000.0


def mail(to: str, step: int, message_id: str, at: float) -> Received:
    return Received(to, message_id, f"Chaos step {step} for Ada", at=at)


def tally(received: list[Received], kills: list[float]) -> tuple[MailTally, list[str]]:
    """The cases below are about step 1; step 2 arrives once for each, so nothing is lost."""
    recipients = sorted({message.recipient for message in received})
    step_2 = [mail(to, 2, f"<{to}-2>", T0 + 30) for to in recipients]
    return tally_mail([*received, *step_2], recipients, STEPS, kills=kills)


def test_a_copy_sent_again_after_a_kill_just_after_the_first_is_explained() -> None:
    received = [mail(ADA, 1, "<1>", T0), mail(ADA, 1, "<1>", T0 + 61)]
    mail_tally, violations = tally(received, kills=[T0 + 0.2])
    assert mail_tally.redelivered_after_kill == [Redelivery(ADA, 1, "<1>", 2)]
    assert mail_tally.redelivered == []
    assert violations == []
    assert "redelivered 1 (all within 10 s before a worker SIGKILL" in mail_tally.redelivery_line()


def test_a_kill_long_after_the_first_copy_does_not_explain_it() -> None:
    received = [mail(ADA, 1, "<1>", T0), mail(ADA, 1, "<1>", T0 + 61)]
    mail_tally, violations = tally(received, kills=[T0 + KILL_WINDOW_S + 5])
    assert mail_tally.redelivered == [Redelivery(ADA, 1, "<1>", 2)]
    assert mail_tally.redelivered_after_kill == []
    assert [v.split(":")[0] for v in violations] == ["redelivered"]
    assert "a bug" in mail_tally.redelivery_line()


def test_a_kill_before_the_first_copy_does_not_explain_it() -> None:
    received = [mail(ADA, 1, "<1>", T0), mail(ADA, 1, "<1>", T0 + 61)]
    mail_tally, violations = tally(received, kills=[T0 - 1])
    assert mail_tally.redelivered == [Redelivery(ADA, 1, "<1>", 2)]
    assert [v.split(":")[0] for v in violations] == ["redelivered"]


def test_a_redelivery_with_no_kill_at_all_is_a_violation() -> None:
    received = [mail(ADA, 1, "<1>", T0), mail(ADA, 1, "<1>", T0 + 1)]
    mail_tally, violations = tally(received, kills=[])
    assert mail_tally.redelivered == [Redelivery(ADA, 1, "<1>", 2)]
    assert [v.split(":")[0] for v in violations] == ["redelivered"]
    assert mail_tally.redelivery_line() == (
        "redelivered 1 (1 after no worker SIGKILL that explains them: a bug)"
    )


def test_each_extra_copy_needs_a_kill_of_its_own() -> None:
    received = [mail(ADA, 1, "<1>", at) for at in (T0, T0 + 61, T0 + 122)]
    one_kill, violations = tally(received, kills=[T0 + 0.2])
    assert one_kill.redelivered == [Redelivery(ADA, 1, "<1>", 3)]
    assert violations != []
    two_kills, violations = tally(received, kills=[T0 + 0.2, T0 + 61.5])
    assert two_kills.redelivered_after_kill == [Redelivery(ADA, 1, "<1>", 3)]
    assert violations == []


def test_the_window_is_inclusive_and_the_later_copy_must_follow_the_kill() -> None:
    assert explained_by_kills([T0, T0 + 61], [T0])
    assert explained_by_kills([T0, T0 + 61], [T0 + KILL_WINDOW_S])
    assert not explained_by_kills([T0, T0 + 1], [T0 + 2])
    assert not explained_by_kills([T0, T0 + 61], [])


def test_two_message_ids_for_one_step_are_a_duplicate_whatever_the_kills() -> None:
    received = [mail(ADA, 1, "<1>", T0), mail(ADA, 1, "<other>", T0 + 61)]
    mail_tally, violations = tally(received, kills=[T0 + 0.2])
    assert mail_tally.duplicated == [(ADA, 1)]
    assert mail_tally.redelivered == mail_tally.redelivered_after_kill == []
    assert [v.split(":")[0] for v in violations] == ["duplicated"]


def test_explained_and_unexplained_redeliveries_are_kept_apart() -> None:
    received = [
        mail(ADA, 1, "<a1>", T0),
        mail(ADA, 1, "<a1>", T0 + 61),  # the worker died 0.2 s after the first copy
        mail(BOB, 1, "<b1>", T0 + 20),
        mail(BOB, 1, "<b1>", T0 + 81),  # 20 s after the first copy: nothing explains it
    ]
    mail_tally, violations = tally(received, kills=[T0 + 0.2])
    assert mail_tally.redelivered_after_kill == [Redelivery(ADA, 1, "<a1>", 2)]
    assert mail_tally.redelivered == [Redelivery(BOB, 1, "<b1>", 2)]
    line = mail_tally.redelivery_line()
    assert line.startswith("redelivered 2 (1 within 10 s before a worker SIGKILL")
    assert line.endswith("1 after no worker SIGKILL that explains them: a bug)")
    assert [v.split(":")[0] for v in violations] == ["redelivered"]
    assert f"{BOB} step 1 <b1> x2" in violations[0]
    assert ADA not in violations[0]
