"""Benchmark: `mailcheck sessions` over 100,000 interviews against a minimal Django script.

The baseline is the least a script can do to read the same rows through Django: set up the
example project (django.setup()) and run one SQL join over the same four tables (interviews,
candidates, jobs, sessions), streamed with fetchmany(). Both run on the same SQLite database, a
temporary one filled by the example project's own `demo_data --generate N` (1 interview in 100
without a session, 1 with an orphan key, 1 without an email). Runs are fresh processes,
interleaved; the figures are median wall times and each process's own peak memory (wait4).

Targets, checked at 100,000 interviews: `mailcheck sessions` (text and --json) takes at most
1.5 times the baseline's wall time, and its peak memory stays under 200 MiB. The 10,000-row run
shows the growth: the time per row past start-up at both sizes (start-up measured with
`--limit 1`), and the peak memory at both. Exit status 1 when a target is missed.

    python bench/sessions.py [--runs 11] [--rows 100000] [--small-rows 10000]
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
SITE = ROOT / "examples" / "interview_site"
SETTINGS = "interview_site.settings"
TIME_TARGET = 1.5
MEMORY_TARGET_MIB = 200.0
MAILCHECK = str(Path(sys.executable).with_name("mailcheck"))

BASELINE = """
import os, sys

sys.path.insert(0, {site!r})
os.environ["DJANGO_SETTINGS_MODULE"] = {settings!r}
import django

django.setup()
from django.db import connection

rows = 0
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT i.id, i.session_key, c.full_name, c.email, j.title, j.company_name, "
        "i.started_at, s.candidate_email, s.coding_language "
        "FROM interviews_interview i "
        "JOIN interviews_candidate c ON c.id = i.candidate_id "
        "JOIN interviews_job j ON j.id = i.job_id "
        "LEFT JOIN interview_app_interviewsession s ON s.session_key = i.session_key "
        "ORDER BY i.started_at ASC NULLS LAST"
        + (f" LIMIT {{int(sys.argv[1])}}" if sys.argv[1:] else "")
    )
    while chunk := cursor.fetchmany(2000):
        rows += len(chunk)
print(rows)
"""

# As on a user's machine, byte code is cached: the warm-up runs write the .pyc files.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build_database(path: Path, rows: int) -> None:
    environment = {**ENVIRONMENT, "INTERVIEW_SITE_DB": str(path)}
    for command in (["migrate", "-v0"], ["demo_data", "--generate", str(rows)]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=SITE,
            env=environment,
            check=True,
            capture_output=True,
        )


def measure(command: list[str], database: Path, cwd: Path) -> tuple[float, float]:
    """Wall time in seconds and the process's own peak resident memory in MiB."""
    environment = {**ENVIRONMENT, "INTERVIEW_SITE_DB": str(database)}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({process.returncode}): {stderr}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    args = parser.parse_args()
    sizes = (args.small_rows, args.rows)
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "baseline.py").write_text(BASELINE.format(site=str(SITE), settings=SETTINGS))
        databases = {}
        for size in sizes:
            databases[size] = cwd / f"interviews-{size}.sqlite3"
            started = time.perf_counter()
            build_database(databases[size], size)
            print(f"built {size:,} interviews in {time.perf_counter() - started:.1f} s")
        # --no-dns: the candidates' domains are judged offline (each row's domain still looked
        # up among those seen, its misspelling checked once); DNS latency is not what is timed.
        mailcheck = [
            MAILCHECK,
            "sessions",
            "--settings",
            SETTINGS,
            "--pythonpath",
            str(SITE),
            "--no-dns",
        ]
        commands = {
            "baseline": [sys.executable, "baseline.py"],
            "mailcheck sessions": mailcheck,
            "mailcheck sessions --json": [*mailcheck, "--json"],
            "baseline, 1 row": [sys.executable, "baseline.py", "1"],
            "mailcheck, 1 row (--limit 1)": [*mailcheck, "--json", "--limit", "1"],
        }
        runs = [(name, size) for size in sizes for name in commands]
        times: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
        memory: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
        for name, size in runs:  # warm the file cache and write the .pyc files
            measure(commands[name], databases[size], cwd)
        for _ in range(args.runs):
            for name, size in runs:
                elapsed, peak = measure(commands[name], databases[size], cwd)
                times[name, size].append(elapsed)
                memory[name, size].append(peak)
    median = {run: statistics.median(values) for run, values in times.items()}
    peak = {run: max(values) for run, values in memory.items()}
    import django

    print(
        f"Python {sys.version.split()[0]}, Django {django.get_version()}, SQLite, "
        f"{args.runs} runs each, median wall time, peak RSS of the process"
    )
    for size in sizes:
        print(f"{size:,} interviews:")
        for name in commands:
            ratio = median[name, size] / median["baseline", size]
            print(
                f"  {name:28s} {median[name, size] * 1000:7.0f} ms  ratio {ratio:4.2f}"
                f"  peak {peak[name, size]:6.1f} MiB"
            )
    print("growth: time per interview past the 1-row run, and peak memory")
    small, large = sizes
    for name, start_up in (
        ("baseline", "baseline, 1 row"),
        ("mailcheck sessions", "mailcheck, 1 row (--limit 1)"),
        ("mailcheck sessions --json", "mailcheck, 1 row (--limit 1)"),
    ):
        first = (median[name, small] - median[start_up, small]) / small * 1e6
        rest = (median[name, large] - median[name, small]) / (large - small) * 1e6
        print(
            f"  {name:28s} {first:5.1f} us/row up to {small:,}, {rest:5.1f} us/row from "
            f"{small:,} to {large:,}; peak {peak[name, small]:.1f} -> {peak[name, large]:.1f} MiB"
        )
    worst = max(
        median[name, args.rows] / median["baseline", args.rows]
        for name in ("mailcheck sessions", "mailcheck sessions --json")
    )
    heaviest = max(peak[name, args.rows] for name in commands)
    met = worst <= TIME_TARGET and heaviest < MEMORY_TARGET_MIB
    print(
        f"worst ratio {worst:.2f} (target <= {TIME_TARGET}), peak {heaviest:.1f} MiB "
        f"(target < {MEMORY_TARGET_MIB:.0f}): {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
