"""The load test in its short CI form: a real server, a second process driving it.

The full form (50 readers and 5 writers for 60 s) is a documented command:
``python -m benchmarks.load.run --database URL`` (docs/operations.md).
"""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks.load.run import run_load

pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(
        importlib.util.find_spec("locust") is None,
        reason="locust is not installed (pip install -e '.[load]')",
    ),
]


def test_short_load_run_has_no_errors_and_keeps_every_acknowledged_write(scratch_url, tmp_path):
    result = run_load(scratch_url, readers=10, writers=3, seconds=10, workdir=tmp_path)

    assert result.problems == [], result.problems
    assert result.failures == 0
    assert result.locked_messages == 0
    assert result.requests > 50  # the run really happened
    assert result.acknowledged_writes >= 3
