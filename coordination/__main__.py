"""``python -m coordination``: the domain command line (no web server needed)."""

from coordination.cli import main

if __name__ == "__main__":
    main()
