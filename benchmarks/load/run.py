"""Run the whole load test: prepare, serve, drive with locust, check, report.

The server (``coordination serve``, waitress) and the load generator (locust, headless)
are separate processes talking over loopback; both stop by themselves (locust after
``--seconds`` seconds, the server when the run ends). Users log in while they are
spawned (all of them within the first five seconds); the statistics are reset once
all of them are in, so the figures describe browsing and saving, not the password hashing
of 55 simultaneous logins. A login that failed still counts: every page that user
opens afterwards lands on the login form, which the scenario reports as a failure.

    python -m benchmarks.load.run --database sqlite:////tmp/load.sqlite
    python -m benchmarks.load.run --database postgresql+psycopg://postgres@127.0.0.1/load

The database is reset first: give one that holds nothing you want to keep.
Exit status 0 only with zero failed requests, no "database is locked" anywhere and
every acknowledged write present (see :mod:`benchmarks.load.verify`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.load.prepare import prepare
from benchmarks.load.verify import acknowledged, read_acks, verify

__all__ = ["LoadResult", "run_load"]

HERE = Path(__file__).parent


@dataclass
class LoadResult:
    backend: str
    readers: int
    writers: int
    seconds: int
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    median_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    write_p95_ms: float = 0.0
    acknowledged_writes: int = 0
    locked_messages: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.locked_messages and not self.problems

    def row(self) -> str:
        return (
            f"| {self.backend} | {self.readers} + {self.writers} | {self.seconds} s | "
            f"{self.requests:,} | {self.failures} | {self.rps:.1f} | {self.median_ms:.0f} | "
            f"{self.p95_ms:.0f} | {self.p99_ms:.0f} | {self.write_p95_ms:.0f} | "
            f"{self.acknowledged_writes:,} | {'yes' if not self.problems else 'NO'} |"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within a minute")


def run_load(
    url: str,
    *,
    readers: int = 50,
    writers: int = 5,
    seconds: int = 60,
    threads: int = 8,
    workdir: Path | None = None,
) -> LoadResult:
    """Prepare ``url``, serve it, drive it for ``seconds``, and check the outcome."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="coordination-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    plan_path, acks, prefix = workdir / "plan.json", workdir / "acks.jsonl", workdir / "stats"
    acks.unlink(missing_ok=True)
    plan_path.write_text(json.dumps(prepare(url, writers)))
    backend = url.split(":", 1)[0].split("+", 1)[0]
    result = LoadResult(backend, readers, writers, seconds)

    port = _free_port()
    env = {**os.environ, "COORDINATION_SECRET_KEY": os.urandom(32).hex()}
    server_log = workdir / "server.log"
    with open(server_log, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", "from admin.cli import main; main()", "serve",
             "--database", url, "--port", str(port), "--threads", str(threads)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base, server)
            users = readers + writers
            locust = subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"),
                 "--headless", "--host", base, "--users", str(users),
                 "--spawn-rate", str(max(10, users // 5)), "--run-time", f"{seconds}s",
                 "--stop-timeout", "10", "--csv", str(prefix), "--only-summary",
                 "--reset-stats",
                 "--loglevel", "WARNING", "--exit-code-on-error", "0",
                 "ReaderUser", "WriterUser"],
                env={**env, "LOAD_PLAN": str(plan_path), "LOAD_ACK_LOG": str(acks),
                     "LOAD_READERS": str(readers),
                     "LOAD_WRITERS": str(writers)},
                capture_output=True,
                text=True,
                timeout=seconds + 120,
                check=False,
            )  # fmt: skip
            (workdir / "locust.log").write_text(locust.stdout + locust.stderr)
            if locust.returncode != 0:
                result.problems.append(f"locust exited with {locust.returncode}")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    _read_stats(prefix, result)
    server_text = server_log.read_text(errors="replace")
    result.locked_messages = server_text.count("database is locked")
    if "Traceback" in server_text:
        result.problems.append(f"the server logged a traceback (see {server_log})")
    events = read_acks(acks)
    result.acknowledged_writes = len(acknowledged(events))
    if not result.acknowledged_writes:
        result.problems.append("no write was acknowledged")
    result.problems += verify(url, events)
    (workdir / "result.json").write_text(json.dumps(asdict(result), indent=1))
    return result


def _read_stats(prefix: Path, result: LoadResult) -> None:
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        result.problems.append("locust wrote no statistics")
        return
    with stats.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                result.requests = int(row["Request Count"])
                result.failures = int(row["Failure Count"])
                result.rps = float(row["Requests/s"])
                result.median_ms = float(row["50%"])
                result.p95_ms = float(row["95%"])
                result.p99_ms = float(row["99%"])
            elif row["Name"] == "/admin/indicatorperiod/edit/ [POST]":
                result.write_p95_ms = float(row["95%"])
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with failures.open(newline="") as handle:
            for row in csv.DictReader(handle):
                result.problems.append(
                    f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}"
                )


HEADER = (
    "| database | users (read + write) | duration | requests | failures | req/s | "
    "median ms | p95 ms | p99 ms | write p95 ms | acknowledged writes | all present |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, action="append", help="repeatable")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--writers", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--workdir", type=Path, help="keep logs and statistics here")
    args = parser.parse_args(argv)
    results = []
    for number, url in enumerate(args.database):
        workdir = args.workdir / str(number) if args.workdir else None
        results.append(
            run_load(url, readers=args.readers, writers=args.writers, seconds=args.seconds,
                     threads=args.threads, workdir=workdir)
        )  # fmt: skip
    print(HEADER)
    for result in results:
        print(result.row())
    for result in results:
        for problem in result.problems[:20]:
            print(f"{result.backend}: {problem}")
    raise SystemExit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
