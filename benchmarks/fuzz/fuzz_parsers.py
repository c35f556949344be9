"""Coverage-guided fuzzing of our file parsers with atheris (libFuzzer for Python).

Hypothesis (tests/ops/test_fuzz.py) runs in CI with a fixed budget; this harness is for
long runs by hand, where coverage feedback finds deeper paths. Any exception other than
our clear errors (CoordinationError and subclasses) is a finding: libFuzzer stops and
writes the input to ``crash-*``.

    pip install atheris
    python -m benchmarks.fuzz.fuzz_parsers icalendar CORPUS_DIR -max_total_time=300
    python -m benchmarks.fuzz.fuzz_parsers fixtures-yaml CORPUS_DIR -runs=100000

Seed CORPUS_DIR with real files (shared/calendars/*.ics, fixtures/demo/*.yaml). The
parsers are the ones registered in tests/ops/test_fuzz.py (FILE_FORMATS): those with a
database-free ``parse`` run directly; the others run their import against an
in-memory SQLite database inside a transaction that is always rolled back.
"""

from __future__ import annotations

import sys
from typing import Any


def _target(name: str) -> Any:
    import atheris

    # Coverage feedback from our code and the parsers it relies on, not from every library.
    with atheris.instrument_imports(include=["coordination", "icalendar", "yaml"]):
        from coordination.errors import CoordinationError
        from tests.ops.test_fuzz import FILE_FORMATS

    formats = {fmt.name: fmt for fmt in FILE_FORMATS}
    if name not in formats:
        raise SystemExit(f"unknown format {name!r}; choose from {', '.join(formats)}")
    fmt = formats[name]
    if fmt.parse is not None:
        parse = fmt.parse
    else:
        parse = _with_database(fmt.write)

    def one_input(data: bytes) -> None:
        try:
            parse(data)
        except CoordinationError:
            pass

    return one_input


def _with_database(write: Any) -> Any:
    from sqlalchemy.orm import Session

    from coordination.db import make_engine, upgrade_database
    from coordination.services.reference import sync_reference_data

    engine = make_engine("sqlite://")
    upgrade_database(engine)
    with Session(engine) as session, session.begin():
        sync_reference_data(session)

    def parse(data: bytes) -> None:
        with Session(engine) as session:
            session.info["actor"] = "fuzz"
            try:
                write(session, data)
                session.flush()
            finally:
                session.rollback()

    return parse


def main() -> None:
    import atheris

    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    one_input = _target(sys.argv[1])
    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
