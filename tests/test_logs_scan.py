"""The fast scan of `mailcheck logs` changes nothing it reports.

- The candidate lines are exactly the lines that hold one of `logscan.FRAGMENTS` (the plain
  per-line test below is the reference), plus the last lines of tracebacks, on the benchmark's
  generated logs and on every fixture log, whatever the block size.
- On logs from the benchmark's own generators (bench/logs_throughput.py, seeded), the JSON and
  the text report are byte for byte those of the code before the scan was made faster, frozen
  under tests/fixtures/logs_frozen/ (written by `mailcheck logs` at commit 45abc9e).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from conftest import FIXTURES, invoke
from hypothesis import example, given, settings
from hypothesis import strategies as st

from interview_mailcheck import logscan
from interview_mailcheck.logscan import FRAGMENTS, TRACEBACK, Tally, candidate_lines

BENCH = Path(__file__).resolve().parent.parent / "bench"
FROZEN = FIXTURES / "logs_frozen"
CANDIDATES_KEPT = 400
"""Lines of the every-candidate log kept for the frozen case (the generator writes 2,000
entries at a time)."""


@cache
def bench_module() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("logs_throughput", BENCH / "logs_throughput.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_bench_log(name: str, folder: Path) -> Path:
    """The frozen cases' logs: 1 MB of the realistic log, and the every-candidate log's first
    `CANDIDATES_KEPT` lines."""
    bench = bench_module()
    path = folder / f"{name}.log"
    if name == "app":
        bench.generate(path, 1_000_000)
    else:
        bench.generate_candidates(path, 1)
        kept = path.read_bytes().split(b"\n")[:CANDIDATES_KEPT]
        path.write_bytes(b"\n".join(kept) + b"\n")
    return path


def fragment_lines(data: bytes) -> dict[int, bytes]:
    """The reference: each line (numbered from 1) that holds a fragment, tested line by line."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return {
        number: line
        for number, line in enumerate(lines, 1)
        if any(fragment in line for fragment in FRAGMENTS)
    }


def fixture_logs() -> list[Path]:
    return sorted((FIXTURES / "logs").glob("*.log"))


@pytest.mark.parametrize("source", ["app", "candidates", *(p.name for p in fixture_logs())])
@pytest.mark.parametrize("block_size", [4 << 20, 4096, 333])
def test_candidates_are_the_lines_holding_a_fragment_and_traceback_ends(
    source: str, block_size: int, tmp_path: Path
) -> None:
    path = (
        FIXTURES / "logs" / source if source.endswith(".log") else write_bench_log(source, tmp_path)
    )
    data = path.read_bytes()
    blocks = (data[start : start + block_size] for start in range(0, len(data), block_size))
    tally = Tally()
    found = {number: (line, mail) for number, line, mail in candidate_lines(blocks, tally)}
    expected = fragment_lines(data)
    assert {number: found[number][0] for number in expected if number in found} == expected
    assert sorted(set(expected) - set(found)) == []
    lines = data.split(b"\n")
    for number in set(found) - set(expected):  # the others end a traceback
        before = b"\n".join(lines[max(0, number - 40) : number - 1])
        assert TRACEBACK in before, (number, found[number])
    assert tally.lines == len(lines) - (1 if data.endswith(b"\n") else 0)


@pytest.mark.parametrize("name", ["app", "candidates"])
@pytest.mark.parametrize("output", ["json", "txt"])
def test_reports_on_the_bench_logs_are_those_before_the_fast_scan(
    name: str, output: str, tmp_path: Path
) -> None:
    write_bench_log(name, tmp_path)  # the working directory: the report names app.log
    args = ["logs", f"{name}.log", *(["--json"] if output == "json" else [])]
    run = invoke(args, {"COLUMNS": "160", "NO_COLOR": "1"})
    assert run.exception is None
    expected = (FROZEN / f"{name}.{output}").read_text(encoding="utf-8")
    assert f"exit {run.exit_code}\n{run.stdout}" == expected


EXCEPTION_PIECES = st.sampled_from(
    ["SMTP", "Error", "gaierror", "socket.", "timeout", "smtplib.", "ssl.", "builtins.", "SSL",
     "Connection", "Refused", "Reset", "Timeout", "OS", "BrokenPipe", "Cert", ": ", "(", "'",
     "5", "x", "é", "ß", ".", " ", "_", "raise ", "\t"]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@example("builtins.OSError: [Errno 9] Bad file descriptor")
@example("smtplib.SMTPDataError(550, b'rejected')")
@example("ssl.SSLCertVerificationError: x socket.timeout: timed out")
@example("Xsocket.timeout: timed out; socket.timeout: timed out")
@given(st.lists(EXCEPTION_PIECES, max_size=14).map("".join))
def test_finding_an_exception_from_its_first_word_is_the_plain_search(text: str) -> None:
    ours, plain = logscan._find_exception(text), logscan._EXCEPTION.search(text)
    assert (ours and (ours.span(), ours.groupdict())) == (
        plain and (plain.span(), plain.groupdict())
    )
