"""`textcast campaigns create --variant ...`, `campaigns ab-test ID`, `pick` and `decide`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.factories import numbers
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.domain import experiments
from textcast.models import AbFallback, AbMetric, AbState, Campaign, Message

runner = CliRunner()
BODIES = ("Sale today https://shop.example/a", "Last day! https://shop.example/b")


@pytest.fixture
def numbers_file(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.txt"
    path.write_text("\n".join(numbers(50)) + "\n")
    return path


def _run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["campaigns", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def _create(env: dict[str, str], numbers_file: Path, *extra: str, code: int = 0) -> str:
    variants = [option for body in BODIES for option in ("--variant", body)]
    return _run(
        env, "create", "--name", "Spring", "--recipients", str(numbers_file), *variants, *extra,
        code=code,
    )  # fmt: skip


def test_create_with_variants_makes_a_test_with_the_options_given(
    database_url: str, numbers_file: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    said = _create(
        env, numbers_file, "--decide-after", "4h", "--metric", "replies", "--test-pool", "40",
        "--window", "2d", "--fallback", "wait", "--min-sample", "10", "--confidence", "0.9",
    )  # fmt: skip
    assert "campaign 1: 50 recipients, draft, an A/B test of 2 variants" in said
    database = Database(database_url)
    with database.read() as session:
        test = experiments.ab_test_of(session, 1)
        assert test is not None
        assert (test.pool_percent, test.metric, test.window_hours) == (40, AbMetric.REPLIES, 48)
        assert (test.decide_after_minutes, test.fallback) == (240, AbFallback.WAIT)
        assert (test.min_sample, test.confidence) == (10, 0.9)
        assert [v.body for v in experiments.variants_of(session, 1)] == list(BODIES)
        assert session.get_one(Campaign, 1).body == BODIES[0]  # the first --variant is A
    database.dispose()


def test_a_manual_test_and_a_send_time_test(database_url: str, numbers_file: Path) -> None:
    env = {"DATABASE_URL": database_url}
    _create(env, numbers_file, "--decide-after", "manual")
    times = _run(
        env, "create", "--name", "Times", "--recipients", str(numbers_file),
        "--body", "Hi https://shop.example", "--send-time", "10:00", "--send-time", "18:00",
    )  # fmt: skip
    assert "an A/B test of 2 variants" in times
    database = Database(database_url)
    with database.read() as session:
        manual = experiments.ab_test_of(session, 1)
        assert manual is not None and manual.decide_after_minutes is None
        assert [v.local_send_time for v in experiments.variants_of(session, 2)] == [
            "10:00",
            "18:00",
        ]
    database.dispose()


def test_bad_test_options_are_named_by_their_option(database_url: str, numbers_file: Path) -> None:
    env = {"DATABASE_URL": database_url}
    said = _create(
        env, numbers_file, "--decide-after", "soon", "--window", "90m", "--fallback", "maybe",
        code=1,
    )  # fmt: skip
    assert "--decide-after: write how long after the test texts are sent" in said
    assert "--window:" in said and "--fallback: must be variant-a or wait" in said
    pool = _create(env, numbers_file, "--test-pool", "0", code=1)
    assert "--test-pool: must be 1 to 100" in pool
    link = _run(
        env, "create", "--name", "x", "--recipients", str(numbers_file),
        "--variant", "Hi", "--variant", "Hello https://shop.example", code=1,
    )  # fmt: skip
    assert "--metric: click rate needs a link" in link
    alone = _run(
        env, "create", "--name", "x", "--body", "Hi", "--metric", "replies", code=2
    )  # fmt: skip
    assert "--metric sets up an A/B test" in alone
    both = _create(env, numbers_file, "--body", "Hi", code=2)
    assert "not --body too" in both
    assert "--body is required" in _run(env, "create", "--name", "x", code=2)
    database = Database(database_url)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    database.dispose()


def test_the_test_shows_each_variant_and_a_pick_sends_the_rest_once(
    database_url: str, numbers_file: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    _create(env, numbers_file, "--decide-after", "manual")
    draft = _run(env, "ab-test", "1")
    assert "A/B test of the click rate" in draft and "Not started" in draft
    assert "Sale today" in draft and "Last day!" in draft
    assert "picked by hand" in draft
    _run(env, "send", "1")
    testing = _run(env, "ab-test", "1")
    assert "testing" in testing and "40 recipients (draft)" in testing
    assert "Not enough data yet" in testing
    picked = _run(env, "pick", "1", "b")
    assert "variant B won; the rest (campaign" in picked
    shown = _run(env, "ab-test", "1")
    assert "B (winner)" in shown and "Variant B picked by cli." in shown
    refused = _run(env, "pick", "1", "A", code=1)
    assert "variant B was already chosen" in refused
    status = _run(env, "status", "1")
    assert "A/B test (decided): Variant B picked by cli." in status
    database = Database(database_url)
    with database.read() as session:
        test = experiments.ab_test_of(session, 1)
        assert test is not None and (test.state, test.winner) == (AbState.DECIDED, "B")
        rest = session.get_one(Campaign, test.rest_id)
        assert rest.body == BODIES[1]
        sent = select(func.count()).select_from(Message).where(Message.campaign_id == rest.id)
        assert session.scalar(sent) == 40
    database.dispose()


def test_decide_applies_the_fallback_without_enough_data(
    database_url: str, numbers_file: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    _create(env, numbers_file, "--fallback", "wait")
    assert "no A/B test" not in _run(env, "ab-test", "1")
    early = _run(env, "decide", "1", code=1)
    assert "nothing to decide" in early
    _run(env, "send", "1")
    waiting = _run(env, "decide", "1")
    assert "no winner yet, waiting" in waiting and "Not enough data" in waiting
    assert "variant A won" in _run(env, "pick", "1", "A")


def test_a_campaign_without_a_test_says_so_and_still_sends_a_test_text(
    database_url: str, numbers_file: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    _run(env, "create", "--name", "Plain", "--body", "Hi", "--recipients", str(numbers_file))
    assert "campaign 1 has no A/B test" in _run(env, "ab-test", "1", code=1)
    assert "queued for +12015550100" in _run(env, "test", "1", "+12015550100")
