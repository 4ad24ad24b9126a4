"""Benchmark: `mailcheck logs` on a generated 1 GB log: throughput and peak memory.

Generates a realistic log in a temporary folder (gunicorn access lines, Django SQL debug lines,
application lines, interleaved bookings of several workers, smtplib and unrelated tracebacks,
emoji clean, missing and mangled), then runs `mailcheck logs --json` on a 100 MB and a 1 GB
log as fresh processes and reads each one's peak RSS from os.wait4. For scale it also times
two baselines on the 1 GB log: `grep -c -F "Email sen"` (one fixed string, C) and the
straightforward Python reader: `for line in file:` testing the same fragments with `in`, which
only finds the candidate lines (mailcheck also reads and correlates them).

Targets: at least 100 MB/s on the 1 GB log, and a peak RSS for 1 GB within 1.10 times that
for 100 MB (flat memory). Exit status 1 when a target is missed. The file is read from the page
cache (it was just written), so the figure is the reader's speed, not the disk's.

    python bench/logs_throughput.py [--size-mb 1000] [--small-mb 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THROUGHPUT_TARGET = 100.0  # MB/s (10**6 bytes)
MEMORY_TARGET = 1.10  # peak RSS ratio, 1 GB log over 100 MB log
MAILCHECK = str(Path(sys.executable).with_name("mailcheck"))
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

PATHS = (
    "/",
    "/book/",
    "/api/slots/",
    "/api/slots/?date=2024-11-27",
    "/static/css/app.css",
    "/static/js/booking.js",
    "/interview/",
    "/favicon.ico",
    "/admin/",
    "/healthz",
)
AGENT = (
    '"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/119.0.0.0 Safari/537.36"'
)
SQL = (
    'DEBUG {ts} django.db.backends (0.00{n}) SELECT "interviews_interview"."id", '
    '"interviews_interview"."candidate_id", "interviews_interview"."job_id", '
    '"interviews_interview"."session_key", "interviews_interview"."started_at" FROM '
    '"interviews_interview" WHERE "interviews_interview"."id" = {n} LIMIT 21; args=({n},); '
    "alias=default"
)
EMOJI = {  # how each worker's console shows the app's emoji
    "clean": ("✅ ", "❌ ", "⚠️ "),
    "missing": ("", "", ""),
    "cp1252": ("âœ… ", "âŒ ", "âš\xa0 "),
    "mac_roman": ("‚úÖ ", "‚ùå ", "‚ö† "),
}
SMTP_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/interview_app/emails.py", line 48, in send_interview_email\n'
    "    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [candidate.email])\n"
    '  File "/venv/lib/python3.11/site-packages/django/core/mail/__init__.py", line 87, in '
    "send_mail\n"
    "    return mail.send()\n"
    '  File "/usr/lib/python3.11/smtplib.py", line 750, in login\n'
    "    raise last_exception\n"
)
SMTP_ERRORS = (
    "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted. For "
    "more information, go to\\n5.7.8  https://support.google.com/mail/?p=BadCredentials "
    "d2e1a72fcca58-7246a2bd5f7sm1234567b3a.1 - gsmtp')",
    "smtplib.SMTPSenderRefused: (553, b'5.7.1 <hr@acme.io>: Sender address rejected: not owned "
    "by user hr@acme.io', 'hr@acme.io')",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "TimeoutError: timed out",
)
OTHER_TRACEBACK = (
    "ERROR {ts} django.request Internal Server Error: /api/slots/\n"
    "Traceback (most recent call last):\n"
    '  File "/venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, '
    "in inner\n"
    "    response = get_response(request)\n"
    '  File "/app/interview_app/views.py", line 112, in slots\n'
    '    day = request.GET["date"]\n'
    "django.utils.datastructures.MultiValueDictKeyError: 'date'\n"
)


def generate(path: Path, size: int, seed: int = 6) -> dict[str, int]:
    """Write about `size` bytes of log; return how many bookings of each outcome it holds."""
    rng = random.Random(seed)
    outcomes = {"sent": 0, "failed": 0, "not_sent": 0, "no_email": 0}
    workers: list[list[str]] = [[] for _ in range(4)]  # each worker's lines still to write
    styles = [rng.choice(list(EMOJI)) for _ in workers]
    written = 0
    second = 0
    interview = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < size:
            chunk: list[str] = []
            for _ in range(2000):
                second += 1
                ts = (
                    f"2024-11-{26 + second // 86400:02d} {second // 3600 % 24:02d}:"
                    f"{second // 60 % 60:02d}:{second % 60:02d},{second % 1000:03d}"
                )
                clf = (
                    f"26/Nov/2024:{second // 3600 % 24:02d}:{second // 60 % 60:02d}:"
                    f"{second % 60:02d} +0000"
                )
                worker = rng.randrange(len(workers))
                pending = workers[worker]
                if pending:  # a booking in progress on this worker goes on
                    chunk.append(pending.pop(0).replace("{ts}", ts))
                    continue
                roll = rng.random()
                if roll < 0.03:
                    interview += 1
                    pending.extend(booking(rng, interview, styles[worker], outcomes))
                elif roll < 0.031:
                    chunk.append(OTHER_TRACEBACK.format(ts=ts).rstrip("\n"))
                elif roll < 0.45:
                    chunk.append(SQL.format(ts=ts, n=rng.randrange(1, 999)))
                elif roll < 0.55:
                    chunk.append(
                        f"INFO {ts} interview_app.views slot {rng.randrange(1, 5000)} listed "
                        f"for job {rng.randrange(1, 300)}"
                    )
                else:
                    chunk.append(
                        f'10.0.{rng.randrange(256)}.{rng.randrange(256)} - - [{clf}] "GET '
                        f'{rng.choice(PATHS)} HTTP/1.1" 200 {rng.randrange(100, 90000)} '
                        f'"https://interviews.acme.io/book/" {AGENT}'
                    )
            text = "\n".join(chunk) + "\n"
            out.write(text)
            written += len(text.encode("utf-8"))
        ts = "2024-12-31 23:59:59,999"  # the bookings still in flight end the log
        out.write("".join(line.replace("{ts}", ts) + "\n" for lines in workers for line in lines))
    return outcomes


def booking(rng: random.Random, number: int, style: str, outcomes: dict[str, int]) -> list[str]:
    ok, failed, warning = EMOJI[style]
    uid = f"{number:08x}-7d3c-4b1e-9f2a-{rng.getrandbits(48):012x}"
    key = f"{rng.getrandbits(128):032x}"
    email = f"candidate{number}@example.org"
    lines = [
        f'10.0.3.7 - - [26/Nov/2024:10:00:00 +0000] "POST /book/ HTTP/1.1" 302 0 "-" {AGENT}',
        f"INFO {{ts}} interview_app.views InterviewSession created for interview {uid}, "
        f"session_key: {key}",
    ]
    roll = rng.random()
    if roll < 0.90:
        outcomes["sent"] += 1
        lines.append(
            f"INFO {{ts}} interview_app.emails {ok}Email sent to {email} with interview link: "
            f"https://interviews.acme.io/?session_key={key}"
        )
    elif roll < 0.96:
        outcomes["failed"] += 1
        lines.append(
            f"ERROR {{ts}} interview_app.emails {failed}Email sending failed for {email} - "
            "check email configuration\n" + SMTP_TRACEBACK + rng.choice(SMTP_ERRORS)
        )
    elif roll < 0.99:
        outcomes["not_sent"] += 1
        lines.append(
            f"WARNING {{ts}} interview_app.emails {warning}[EMAIL NOT SENT] EMAIL_BACKEND is "
            "'console'"
        )
    else:
        outcomes["no_email"] += 1
    return lines


def run(log: Path) -> tuple[float, int, dict[str, object]]:
    """Wall time, peak RSS (bytes) and JSON document of one `mailcheck logs` process."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            [MAILCHECK, "logs", str(log), "--json"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=ENVIRONMENT,
        )
        assert process.stdout is not None
        stdout = process.stdout.read()
        # wait4 reports this child's own peak RSS (getrusage(RUSAGE_CHILDREN) keeps the
        # largest of all children so far, which would hide a smaller second run).
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.stdout.close()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):
            errors.seek(0)
            raise SystemExit(f"mailcheck failed ({process.returncode}): {errors.read().decode()}")
    return elapsed, usage.ru_maxrss * 1024, json.loads(stdout)


def baseline(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True, env=ENVIRONMENT)
    return time.perf_counter() - start


NAIVE_READER = """
import sys
from interview_mailcheck.logscan import FRAGMENTS, TRACEBACK
fragments = (*FRAGMENTS, TRACEBACK)
count = 0
with open(sys.argv[1], "rb") as log:
    for line in log:
        if any(fragment in line for fragment in fragments):
            count += 1
print(count)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--small-mb", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="generate the logs in DIR and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        logs = {}
        for megabytes in (args.small_mb, args.size_mb):
            path = folder / f"app-{megabytes}mb.log"
            start = time.perf_counter()
            outcomes = generate(path, megabytes * 10**6)
            logs[megabytes] = (path, outcomes)
            print(
                f"generated {path.name}: {path.stat().st_size / 1e6:.0f} MB, "
                f"{sum(outcomes.values()):,} bookings {outcomes} "
                f"in {time.perf_counter() - start:.1f} s",
                flush=True,
            )
        results = {}
        for megabytes, (path, outcomes) in logs.items():
            run(path)  # warm-up: byte code and page cache
            elapsed, peak, document = run(path)
            summary = document["summary"]
            assert isinstance(summary, dict)
            for outcome, expected in outcomes.items():
                if summary[outcome] != expected:
                    raise SystemExit(f"{path.name}: {outcome} {summary[outcome]} != {expected}")
            size = path.stat().st_size
            results[megabytes] = (size / 1e6 / elapsed, peak)
            print(
                f"mailcheck logs {path.name}: {elapsed:.2f} s, {size / 1e6 / elapsed:.0f} MB/s, "
                f"peak RSS {peak / 2**20:.1f} MiB, {summary['interviews']:,} interviews "
                "(counts match the generator)",
                flush=True,
            )
        big = logs[args.size_mb][0]
        size = big.stat().st_size
        for name, command in (
            ('grep -c -F "Email sen"', ["grep", "-c", "-F", "Email sen", str(big)]),
            ("Python line loop, same fragments", [sys.executable, "-c", NAIVE_READER, str(big)]),
        ):
            elapsed = baseline(command)
            print(
                f"baseline {name} on {big.name}: {elapsed:.2f} s, {size / 1e6 / elapsed:.0f} MB/s"
            )
    rate, big_peak = results[args.size_mb]
    small_peak = results[args.small_mb][1]
    memory_ratio = big_peak / small_peak
    rate_ok, memory_ok = rate >= THROUGHPUT_TARGET, memory_ratio <= MEMORY_TARGET
    print(
        f"throughput {rate:.0f} MB/s (target >= {THROUGHPUT_TARGET:.0f}): "
        f"{'met' if rate_ok else 'MISSED'}; peak RSS {args.size_mb} MB log / {args.small_mb} MB "
        f"log {memory_ratio:.2f} (target <= {MEMORY_TARGET}): {'met' if memory_ok else 'MISSED'}"
    )
    return 0 if rate_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
