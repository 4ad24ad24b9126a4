"""Benchmark: `mailcheck config` against the smallest Typer app that runs one command.

Both run in the same interpreter and environment, interleaved, as fresh processes; the figure
is the ratio of median wall times. Target: <= 1.5 (heavy imports only on the paths that use
them). Exit status 1 when the target is missed.

    python bench/config_startup.py [--runs 31]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5
# The console script users run, installed next to this interpreter.
MAILCHECK = str(Path(sys.executable).with_name("mailcheck"))
BASELINE_APP = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"hello {name}")


app()
"""


# As on a user's machine, byte code is cached: the first (warm-up) run writes the .pyc files.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall_time(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, env=ENVIRONMENT)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({completed.returncode}): {completed.stderr.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "baseline.py").write_text(BASELINE_APP)
        commands = {
            "baseline: minimal Typer app": [sys.executable, "baseline.py"],
            "mailcheck config (text)": [
                MAILCHECK,
                "config",
                "--env-file",
                str(ROOT / ".env.example"),
            ],
            "mailcheck config --json": [
                MAILCHECK,
                "config",
                "--env-file",
                str(ROOT / ".env.example"),
                "--json",
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():  # warm the file cache and write the .pyc files
            wall_time(command, cwd)
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(wall_time(command, cwd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["baseline: minimal Typer app"]
    import typer

    print(
        f"Python {sys.version.split()[0]}, typer {typer.__version__}, "
        f"{args.runs} runs each, median wall time"
    )
    worst = 0.0
    for name, median in medians.items():
        ratio = median / baseline
        if name != "baseline: minimal Typer app":
            worst = max(worst, ratio)
        print(f"  {name:30s} {median * 1000:7.1f} ms   ratio {ratio:4.2f}")
    verdict = "met" if worst <= TARGET else "MISSED"
    print(f"worst ratio {worst:.2f} (target <= {TARGET}): {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
