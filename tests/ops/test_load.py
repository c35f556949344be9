"""The load test in its short CI form: a real server, a second process driving it.

The full form (50 readers and 5 writers for 60 s) is a documented command:
``python -m benchmarks.load.run --database URL`` (docs/operations.md).
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal

import pytest
from sqlalchemy import update

from benchmarks.load.run import run_load
from benchmarks.load.verify import read_acks, verify
from coordination.db import make_engine
from coordination.models import IndicatorPeriod

pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(
        importlib.util.find_spec("locust") is None,
        reason="locust is not installed (pip install -e '.[load]')",
    ),
]


def test_short_load_run_has_no_errors_and_keeps_every_acknowledged_write(scratch_url, tmp_path):
    result = run_load(scratch_url, readers=10, writers=3, seconds=20, workdir=tmp_path)

    assert result.problems == [], result.problems
    assert result.failures == 0
    assert result.locked_messages == 0
    # The run really happened (modest bounds: CI machines can be slow and busy).
    assert result.requests >= 20
    assert result.acknowledged_writes >= 1

    # The check would see a lost write: undo one acknowledged save behind its back.
    events = read_acks(tmp_path / "acks.jsonl")
    lost = next(e for e in events if e["event"] == "ack")
    engine = make_engine(scratch_url)
    with engine.begin() as connection:
        connection.execute(
            update(IndicatorPeriod.__table__)
            .where(IndicatorPeriod.__table__.c.id == int(lost["period"]))
            .values(actual_value=Decimal("-1"))
        )
    engine.dispose()
    problems = verify(scratch_url, events)
    assert any(f"period {lost['period']}: stored -1" in p for p in problems), problems
