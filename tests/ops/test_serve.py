"""``coordination serve`` sizes the connection pool to its threads."""

from __future__ import annotations

import secrets

import pytest
from click.testing import CliRunner

from admin.cli import build_cli


@pytest.mark.parametrize("threads", [4, 24])
def test_serve_gives_each_thread_a_pooled_connection(db_url, monkeypatch, threads):
    served = {}

    def fake_serve(app, **options):
        from admin.extensions import db

        with app.app_context():
            served["pool_size"] = db.engine.pool.size()
            served["pre_ping"] = db.engine.pool._pre_ping
            db.engine.dispose()
        served.update(options)

    monkeypatch.setattr("waitress.serve", fake_serve)
    monkeypatch.setenv("COORDINATION_SECRET_KEY", secrets.token_hex(32))
    result = CliRunner().invoke(
        build_cli(), ["serve", "--database", db_url, "--threads", str(threads), "--port", "8123"]
    )
    assert result.exit_code == 0, result.output
    assert served["threads"] == threads and served["port"] == 8123
    assert served["pool_size"] == threads
    assert served["pre_ping"] is db_url.startswith("postgresql")
