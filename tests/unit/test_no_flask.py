"""The domain library must work where Flask is not installed at all."""

import subprocess
import sys
import textwrap


def test_coordination_imports_and_works_without_flask():
    # A meta-path finder makes "flask" (and our web layer) unimportable, as on a
    # machine without Flask; the whole domain library must still import and run.
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        class NoFlask:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"flask", "flask_admin", "flask_login", "flask_wtf", "admin"}:
                    raise ImportError(f"{name} is blocked for this test")
                return None

        sys.meta_path.insert(0, NoFlask())
        import coordination
        for module in pkgutil.walk_packages(coordination.__path__, "coordination."):
            if ".migrations" in module.name:
                continue
            importlib.import_module(module.name)

        from coordination.db import Base, make_engine, session_scope
        from coordination.services.reference import sync_reference_data
        engine = make_engine("sqlite://")
        Base.metadata.create_all(engine)
        with session_scope(engine) as session:
            counts = sync_reference_data(session)
        assert counts["countries"] > 200, counts
        assert not any(m.split(".")[0] in {"flask", "admin"} for m in sys.modules)
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
