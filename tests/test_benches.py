"""Each benchmark under bench/ still runs: its `--smoke` mode, small and short, as a fresh
process. The figures of a smoke run prove nothing about the targets (the benches themselves
are not run by CI: the figures are noisy on shared machines); what is checked here is that the
script runs to the end, compares both sides and prints a verdict for every target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

SMOKE = {
    "config_startup.py": 2,
    "dns_lookups.py": 1,
    "doctor.py": 1,
    "envfile.py": 2,
    "logs_throughput.py": 4,
    "send_test.py": 2,
    "sessions.py": 6,
}
"""Each smoke-tested script and the number of target lines it prints."""
NEEDS = {"send_test.py": "swaks"}
"""The programs a script runs besides mailcheck (.ci/run installs them from Debian)."""
NEEDS_POSTGRES = {"sessions.py"}
"""Scripts that start a throwaway PostgreSQL server (tests/support/postgres.py)."""


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_bench_smoke_run_prints_a_verdict_for_every_target(script: str) -> None:
    program = NEEDS.get(script)
    if program and shutil.which(program) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{script} needs {program}: .ci/run installs it")
        pytest.skip(f"{script} needs {program}: apt-get install {program} libnet-ssleay-perl")
    if script in NEEDS_POSTGRES:
        from support.postgres import PostgresUnavailable, find_bindir, server_account, unavailable

        try:
            find_bindir()
            server_account()
        except PostgresUnavailable as missing:
            unavailable(str(missing))
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    verdicts = [line for line in done.stdout.splitlines() if "(target " in line]
    assert len(verdicts) == SMOKE[script], done.stdout
    assert all(line.endswith((": met", ": MISSED")) for line in verdicts), done.stdout
    assert "smoke run" in done.stdout.splitlines()[-1]
