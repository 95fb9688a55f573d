"""``python -m preflight``: the same as the ``pg-preflight`` command."""

from preflight.cli import run

if __name__ == "__main__":
    run()
