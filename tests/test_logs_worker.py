"""The second process that scans a large log (adapters/logworker.py) changes nothing it reports.

Each case runs in a fresh interpreter (`python -c`): a fork from the test process, which may
run loopback servers in threads, is what `use_worker` refuses. The child is a real fork; what
it sends is compared with `candidate_lines` run in the same interpreter.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import FIXTURES

from interview_mailcheck.logscan import TRACEBACK

LOGS = sorted((FIXTURES / "logs").glob("*.log*"))
MAILCHECK = [sys.executable, "-m", "interview_mailcheck"]


def python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


COMPARE = """
    import sys
    from interview_mailcheck.adapters.logfile import read_blocks
    from interview_mailcheck.adapters.logworker import scan_in_child
    from interview_mailcheck.logscan import Tally, candidate_lines

    block_size, paths = int(sys.argv[1]), sys.argv[2:]
    for path in paths:
        here, there = Tally(), Tally()
        expected = list(candidate_lines(read_blocks(path, block_size), here))
        found = list(scan_in_child(path, there, block_size))
        assert found == expected, (path, len(found), len(expected))
        assert there.lines == here.lines, (path, there.lines, here.lines)
        print(len(found), here.lines)
"""


@pytest.mark.parametrize("block_size", [333, 4 << 20])
def test_the_child_sends_the_candidates_scanned_here(block_size: int) -> None:
    """Every fixture log (plain and gzip), one interpreter for all of them."""
    result = python(COMPARE, str(block_size), *map(str, LOGS))
    assert result.returncode == 0, result.stderr
    counts = [tuple(map(int, line.split())) for line in result.stdout.splitlines()]
    assert len(counts) == len(LOGS)
    for path, (candidates, lines) in zip(LOGS, counts, strict=True):
        assert lines > 0, path.name
        assert candidates > 0 or path.name.startswith("no_markers"), path.name


def test_many_batches_and_long_lines_arrive_whole(tmp_path: Path) -> None:
    """More than one pipe's worth of batches, lines cut at MAX_LINE, tracebacks across blocks,
    and a last line without a newline."""
    path = tmp_path / "big.log"
    traceback = (
        TRACEBACK.decode() + ":\n"
        '  File "/usr/lib/python3.11/smtplib.py", line 750, in login\n'
        "    raise last_exception\n"
        "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted')\n"
    )
    with path.open("w") as out:
        for number in range(6000):
            out.write(f"INFO InterviewSession created for interview {number}, session_key: k\n")
            out.write("GET /static/app.css 200\n" * 3)
            if number % 7 == 0:
                out.write(traceback)
            if number % 1000 == 0:
                out.write("x" * 70_000 + " SMTP\n")
        out.write("ERROR Email sending failed for last@example.org")
    result = python(COMPARE, "4096", str(path))
    assert result.returncode == 0, result.stderr
    candidates, lines = map(int, result.stdout.split())
    assert candidates > 6000 and lines > 24_000


def test_an_error_midway_arrives_in_its_place_as_the_same_input_error(tmp_path: Path) -> None:
    whole = (FIXTURES / "logs" / "interleaved.log").read_bytes() * 200
    path = tmp_path / "cut.log.gz"
    path.write_bytes(gzip.compress(whole)[:-40])  # truncated mid-stream
    code = """
        import sys
        from interview_mailcheck.adapters.logfile import read_blocks
        from interview_mailcheck.adapters.logworker import scan_in_child
        from interview_mailcheck.errors import InputError
        from interview_mailcheck.logscan import Tally, candidate_lines

        def collect(candidates):
            found = []
            try:
                for candidate in candidates:
                    found.append(candidate)
            except InputError as error:
                return found, str(error)
            return found, None

        here = collect(candidate_lines(read_blocks(sys.argv[1], 4096), Tally()))
        there = collect(scan_in_child(sys.argv[1], Tally(), 4096))
        assert here[1] is not None and "truncated gzip" in here[1], here[1]
        assert there == here, (len(there[0]), len(here[0]), there[1])
        print("ok")
    """
    result = python(code, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


STARTED = textwrap.dedent("""
    import os, signal, sys
    from interview_mailcheck.adapters.logworker import scan_in_child
    from interview_mailcheck.logscan import Tally

    candidates = scan_in_child(sys.argv[1], Tally(), 4096)
    next(candidates)
    children = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
""")
"""The child started and its first candidate read; `candidates` and `children` for the rest."""


def repeated_log(folder: Path, times: int) -> Path:
    path = folder / "app.log"
    path.write_bytes((FIXTURES / "logs" / "interleaved.log").read_bytes() * times)
    return path


def test_stopping_early_kills_and_reaps_the_child(tmp_path: Path) -> None:
    path = repeated_log(tmp_path, 2000)
    code = STARTED + textwrap.dedent("""
        assert len(children) == 1, children
        candidates.close()
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print("reaped")
        else:
            print("still there")
    """)
    result = python(code, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "reaped"


def test_a_child_that_dies_is_an_error_not_a_short_report(tmp_path: Path) -> None:
    path = repeated_log(tmp_path, 4000)
    code = STARTED + textwrap.dedent("""
        os.kill(int(children[0]), signal.SIGKILL)
        try:
            for _ in candidates:
                pass
        except RuntimeError as error:
            print(error)
    """)
    result = python(code, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "log scan worker ended without finishing"


def test_only_large_regular_files_on_more_than_one_cpu_use_the_child(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.log"
    with sparse.open("wb") as out:
        out.truncate(64 << 20)
    small = tmp_path / "small.log"
    small.write_text("INFO nothing\n")
    code = """
        import os, sys, threading
        from interview_mailcheck.adapters.logworker import use_worker

        print(use_worker(sys.argv[1]), use_worker(sys.argv[2]), use_worker("-"),
              use_worker(sys.argv[1] + ".missing"), use_worker(os.path.dirname(sys.argv[1])))
        threading.Thread(target=threading.Event().wait, args=(5,), daemon=True).start()
        print(use_worker(sys.argv[1]))
    """
    result = python(code, str(sparse), str(small))
    assert result.returncode == 0, result.stderr
    several_cpus = len(os.sched_getaffinity(0)) > 1
    assert result.stdout.split() == [str(several_cpus), *["False"] * 4, "False"]


def one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@pytest.fixture(scope="module")
def large_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every plain fixture log over and over between request lines, past WORKER_MIN_BYTES
    (as in a real log, most lines are not candidates)."""
    path = tmp_path_factory.mktemp("large") / "app.log"
    requests = b'10.0.0.7 - - "GET /static/app.css HTTP/1.1" 200 1043\n' * 40_000
    part = b"".join(log.read_bytes() + requests for log in LOGS if log.suffix == ".log")
    with path.open("wb") as out:
        while out.tell() < (64 << 20) + 1:
            out.write(part)
    return path


def default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as in a terminal (pytest's may differ)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_ctrl_c_is_one_line_and_exit_130_and_leaves_no_child(large_log: Path) -> None:
    """Ctrl-C reaches the terminal's whole process group: the child ignores it, the parent
    says so in one line, exits 130, and kills and reaps the child."""
    process = subprocess.Popen(
        [*MAILCHECK, "logs", str(large_log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=default_interrupt,  # one call, before exec
    )
    children = f"/proc/{process.pid}/task/{process.pid}/children"
    deadline = time.monotonic() + 30
    found: list[str] = []
    while not found and time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            found = Path(children).read_text().split()
        time.sleep(0.01)
    assert found, "no child was started"
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert (process.returncode, stderr) == (130, b"mailcheck: interrupted\n")
    assert not any(Path(f"/proc/{child}").exists() for child in found)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_the_report_on_a_large_log_is_the_one_made_in_one_process(large_log: Path) -> None:
    """`mailcheck logs` as a user runs it, on a log past WORKER_MIN_BYTES: with two CPUs (the
    child scans) and pinned to one (no child), the same JSON, text and exit status."""
    path = large_log
    outputs = []
    for preexec in (None, one_cpu):
        runs = [
            subprocess.run(
                [*MAILCHECK, "logs", str(path), *extra],
                capture_output=True,
                timeout=120,
                preexec_fn=preexec,  # one call, before exec
                check=False,
            )
            for extra in (["--json"], [])
        ]
        outputs.append([(run.returncode, run.stdout, run.stderr) for run in runs])
    assert outputs[0] == outputs[1]
    document = json.loads(outputs[0][0][1])
    assert document["summary"]["interviews"] > 100
