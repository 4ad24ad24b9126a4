"""What every benchmark under bench/ shares: fresh processes timed with their peak memory, both
sides of a comparison run alternately (pair after pair, in one run), the figure as the median
of the per-pair ratios, a verdict against the target, and the exit status (1 when missed).

Each script also takes `--smoke`: a run small and short enough for CI (tests/test_benches.py),
which proves the script still works, not the target (the figures are noisy on shared machines).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAILCHECK = str(Path(sys.executable).with_name("mailcheck"))
"""The console script users run, installed next to this interpreter."""
ENVIRONMENT = {
    k: v
    for k, v in os.environ.items()
    if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(("EMAIL_", "MAILCHECK_", "DJANGO_"))
}
"""As on a user's machine: byte code cached (a warm-up run writes the .pyc files), and none of
the developer's mail settings."""


@dataclass
class Run:
    seconds: float
    peak_kib: int
    returncode: int
    stdout: bytes = b""


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ok: Sequence[int] = (0, 1),
    stdin: Path | None = None,
    keep_output: bool = False,
) -> Run:
    """Run `command` as a fresh process: its wall time and its own peak RSS (os.wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        source = stdin.open("rb") if stdin is not None else subprocess.DEVNULL
        try:
            started = time.perf_counter()
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env={**ENVIRONMENT, **(env or {})},
                stdin=source,
                stdout=out if keep_output else subprocess.DEVNULL,
                stderr=err,
            )
            _, status, usage = os.wait4(process.pid, 0)
            elapsed = time.perf_counter() - started
        finally:
            if stdin is not None:
                source.close()  # type: ignore[union-attr]
        process.returncode = os.waitstatus_to_exitcode(status)
        code = process.returncode
        if code not in ok:
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} failed ({code}): {err.read().decode()[-2000:]}")
        out.seek(0)
        return Run(elapsed, usage.ru_maxrss, code, out.read() if keep_output else b"")


@dataclass
class Pairs:
    """The times of each side, run alternately; the figure is the median per-pair ratio."""

    names: tuple[str, ...]
    times: dict[str, list[float]] = field(default_factory=dict)
    peaks: dict[str, list[int]] = field(default_factory=dict)

    def add(self, name: str, result: Run) -> None:
        self.times.setdefault(name, []).append(result.seconds)
        self.peaks.setdefault(name, []).append(result.peak_kib)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def show(self, heading: str, width: int = 34) -> None:
        """Print `heading`, then each side's median time."""
        print(heading)
        for name in self.names:
            print(f"  {name:{width}s} {self.median(name) * 1000:8.1f} ms")

    def ratio(self, name: str, baseline: str) -> float:
        """The median of the per-pair ratios name/baseline (pairs ran side by side)."""
        pairs = zip(self.times[name], self.times[baseline], strict=True)
        return statistics.median(ours / theirs for ours, theirs in pairs)


def alternate(sides: Mapping[str, Callable[[], Run]], pairs: int, *, warm_up: bool = True) -> Pairs:
    """Run every side once per pair, in turn, `pairs` times (after one warm-up round)."""
    result = Pairs(tuple(sides))
    if warm_up:
        for side in sides.values():
            side()
    for index in range(pairs):
        order = list(sides.items())
        if index % 2:  # neither side always runs first (caches, CPU frequency)
            order.reverse()
        for name, side in order:
            result.add(name, side())
    return result


def parser(description: str, pairs: int = 9) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=description)
    options.add_argument("--pairs", type=int, default=pairs, help="alternated pairs (>= 7)")
    options.add_argument(
        "--smoke", action="store_true", help="a tiny run that proves the script works (CI)"
    )
    return options


def verdict(label: str, figure: float, target: float, *, at_most: bool = True) -> bool:
    """Print one target's line; whether it was met."""
    met = figure <= target if at_most else figure >= target
    relation = "<=" if at_most else ">="
    print(f"{label}: {figure:.3g} (target {relation} {target:g}): {'met' if met else 'MISSED'}")
    return met


def finish(results: Sequence[bool], smoke: bool) -> int:
    """The exit status: 1 when a target was missed (a smoke run only proves the script runs)."""
    if smoke:
        print("smoke run: the figures above prove nothing about the targets")
        return 0
    return 0 if all(results) else 1
