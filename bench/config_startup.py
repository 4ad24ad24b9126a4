"""Benchmark: `mailcheck config` on a good .env against the smallest Typer app that runs one
command (issue 15, item 1).

Both sides are fresh processes of the same interpreter and environment, run alternately pair
by pair (the order flipped every other pair); the figure is the median of the per-pair ratios.
The .env is a complete Gmail configuration (App Password shaped), so `config` does its whole
job and exits 0. Target: at most 1.15 for the text output and for --json (stretch 1.0).
Exit status 1 when missed.

    python bench/config_startup.py [--pairs 21] [--smoke]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, alternate, finish, parser, run, verdict

TARGET = 1.15
BASELINE_APP = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"hello {name}")


app()
"""
GOOD_ENV = (
    "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\nEMAIL_HOST=smtp.gmail.com\n"
    "EMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=hiring.team@gmail.com\n"
    "EMAIL_HOST_PASSWORD=abcdefghijklmnop\nDEFAULT_FROM_EMAIL=hiring.team@gmail.com\n"
    "EMAIL_TIMEOUT=10\n"
)


def main() -> int:
    options = parser(__doc__.splitlines()[0], pairs=21).parse_args()
    pairs = 2 if options.smoke else options.pairs
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "baseline.py").write_text(BASELINE_APP)
        (cwd / ".env").write_text(GOOD_ENV)

        def side(*command: str):  # type: ignore[no-untyped-def]
            return lambda: run(command, cwd=cwd, ok=(0,))

        baseline = "minimal Typer app"
        timed = alternate(
            {
                baseline: side(sys.executable, "baseline.py"),
                "mailcheck config": side(MAILCHECK, "config"),
                "mailcheck config --json": side(MAILCHECK, "config", "--json"),
            },
            pairs,
        )
    import typer

    timed.show(f"Python {sys.version.split()[0]}, typer {typer.__version__}, {pairs} pairs")
    results = [
        verdict(f"{name} / {baseline}", timed.ratio(name, baseline), TARGET)
        for name in timed.names[1:]
    ]
    return finish(results, options.smoke)


if __name__ == "__main__":
    sys.exit(main())
