"""Benchmark: `mailcheck logs` (issue 15, item 5): at least 250 MB/s on the generated 1 GB log,
at least 0.25 times the speed of `grep -F` looking for the same fragments, at least 100 MB/s on
a log where every line is a candidate, and peak memory flat in the file's size.

Generates in a temporary folder a realistic log (gunicorn access lines, Django SQL debug lines,
application lines, interleaved bookings of several workers, smtplib and unrelated tracebacks,
emoji clean, missing and mangled) of 100 MB and of 1 GB, and a 200 MB log in which every line
is a candidate (half the app's own booking lines, half other errors that name an exception);
checks that `mailcheck logs --json` counts exactly the bookings generated; then runs as fresh
processes, alternated pair by pair: `mailcheck logs --json` on the 1 GB log; `grep -F -c` on it
with every fragment mailcheck looks for (`logscan.FRAGMENTS` and the traceback header, one `-e`
each); `mailcheck logs --json` on the 100 MB log (peak RSS: 1 GB within 1.10 times 100 MB);
`mailcheck logs --json` on the every-candidate log; and, for scale only, a plain Python
`for line in file` loop over that log that tests the same fragments with `in` (it finds the
lines, reads none of them). The logs were just written, so they are read from the page cache:
the figures are the reader's speed, not the disk's. Exit status 1 when a target is missed.

    python bench/logs_throughput.py [--pairs 9] [--smoke] [--keep DIR]
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, alternate, finish, parser, run, verdict

from interview_mailcheck.logscan import FRAGMENTS, TRACEBACK

THROUGHPUT_TARGET = 250.0  # MB/s (10**6 bytes), 1 GB log
GREP_TARGET = 0.25  # mailcheck's speed over grep -F's with the same fragments
CANDIDATES_TARGET = 100.0  # MB/s, the log where every line is a candidate
MEMORY_TARGET = 1.10  # peak RSS, 1 GB log over 100 MB log

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


CANDIDATE_LINES = (
    "ERROR {ts} django.request Internal Server Error: /api/slots/{n}/",
    "WARNING {ts} interview_app.tasks KeyError: 'slot-{n}' (retrying the reminder)",
    "ERROR {ts} interview_app.sync ValueError: invalid literal for int() with base 10: '{n}x'",
    "WARNING {ts} urllib3.connectionpool Retrying (Retry(total=2)) after connection broken by "
    "'NewConnectionError: Failed to establish a new connection: [Errno 111] Connection refused'",
)


def generate_candidates(path: Path, size: int, seed: int = 7) -> int:
    """Write about `size` bytes of log in which every line is a candidate: the app's booking
    lines (created, then sent, failed with an SMTP reply, or not sent) between other errors.
    Return the number of bookings."""
    rng = random.Random(seed)
    written = second = interview = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < size:
            chunk = []
            for _ in range(2000):
                second += 1
                ts = (
                    f"2024-11-{26 + second // 86400 % 4:02d} {second // 3600 % 24:02d}:"
                    f"{second // 60 % 60:02d}:{second % 60:02d},{second % 1000:03d}"
                )
                if rng.random() < 0.5:
                    line = rng.choice(CANDIDATE_LINES)
                    chunk.append(line.format(ts=ts, n=rng.randrange(1, 99999)))
                    continue
                interview += 1
                key = f"{rng.getrandbits(128):032x}"
                chunk.append(
                    f"INFO {ts} interview_app.views InterviewSession created for interview "
                    f"{interview}, session_key: {key}"
                )
                roll = rng.random()
                email = f"candidate{interview}@example.org"
                if roll < 0.9:
                    chunk.append(
                        f"INFO {ts} interview_app.emails ✅ Email sent to {email} with interview "
                        f"link: https://interviews.acme.io/?session_key={key}"
                    )
                elif roll < 0.97:
                    chunk.append(
                        f"ERROR {ts} interview_app.emails ❌ Email sending failed for {email} - "
                        "check email configuration"
                    )
                    chunk.append(
                        f"ERROR {ts} interview_app.emails smtplib.SMTPAuthenticationError: (535, "
                        "b'5.7.8 Username and Password not accepted. - gsmtp')"
                    )
                else:
                    chunk.append(
                        f"WARNING {ts} interview_app.emails ⚠️ [EMAIL NOT SENT] EMAIL_BACKEND is "
                        "'console'"
                    )
            text = "\n".join(chunk) + "\n"
            out.write(text)
            written += len(text.encode("utf-8"))
    return interview


LINE_LOOP = """
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


def logs(path: Path):  # type: ignore[no-untyped-def]
    return lambda: run([MAILCHECK, "logs", str(path), "--json"], keep_output=True)


def counts_match(path: Path, outcomes: dict[str, int]) -> bool:
    """mailcheck counts exactly the bookings of each outcome that the generator wrote."""
    summary = json.loads(logs(path)().stdout)["summary"]
    wrong = {key: (summary[key], want) for key, want in outcomes.items() if summary[key] != want}
    verdict_text = "match the generator" if not wrong else f"DIFFER (got, wanted): {wrong}"
    print(f"{path.name}: {summary['interviews']:,} interviews, counts {verdict_text}")
    return not wrong


def main() -> int:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--keep", type=Path, help="generate the logs in DIR and keep them")
    args = options.parse_args()
    big_mb, small_mb, every_mb = (20, 2, 4) if args.smoke else (1000, 100, 200)
    pairs = 2 if args.smoke else args.pairs
    # Its output goes to a file: with stdout on /dev/null, GNU grep stops at the first match.
    grep = ["grep", "-F", "-c"]
    for fragment in (*FRAGMENTS, TRACEBACK):
        grep += ["-e", fragment.decode()]
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        big, small = folder / f"app-{big_mb}mb.log", folder / f"app-{small_mb}mb.log"
        every = folder / f"candidates-{every_mb}mb.log"
        started = time.perf_counter()
        outcomes = {
            path: generate(path, mb * 10**6) for path, mb in ((small, small_mb), (big, big_mb))
        }
        generate_candidates(every, every_mb * 10**6)
        os.sync()  # the kernel's writeback of the new files must not run during the timing
        print(f"generated {big.name}, {small.name}, {every.name} in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        agree = all(counts_match(path, wanted) for path, wanted in outcomes.items())
        ours, theirs = f"mailcheck, {big_mb} MB log", f"grep -F, {big_mb} MB log"
        flat, dense = f"mailcheck, {small_mb} MB log", f"mailcheck, {every_mb} MB every-candidate"
        loop = f"line loop, {every_mb} MB every-candidate"
        read = {ours: big, theirs: big, flat: small, dense: every, loop: every}
        line_loop = [sys.executable, "-c", LINE_LOOP, str(every)]
        timed = alternate(
            {
                ours: logs(big),
                theirs: lambda: run([*grep, str(big)], keep_output=True),
                flat: logs(small),
                dense: logs(every),
                loop: lambda: run(line_loop),
            },
            pairs,
        )
        rate = {name: path.stat().st_size / 1e6 / timed.median(name) for name, path in read.items()}
    for name in timed.names:
        peak = statistics.median(timed.peaks[name]) / 1024
        print(f"  {name:40s} {timed.median(name):7.2f} s {rate[name]:7.0f} MB/s  "
              f"peak RSS {peak:6.1f} MiB")  # fmt: skip
    memory = statistics.median(timed.peaks[ours]) / statistics.median(timed.peaks[flat])
    results = [
        agree,
        verdict(f"mailcheck logs on the {big_mb} MB log, MB/s", rate[ours], THROUGHPUT_TARGET,
                at_most=False),
        verdict("speed over grep -F's with the same fragments (median of per-pair ratios)",
                timed.ratio(theirs, ours), GREP_TARGET, at_most=False),
        verdict(f"mailcheck logs on the {every_mb} MB every-candidate log, MB/s", rate[dense],
                CANDIDATES_TARGET, at_most=False),
        verdict(f"peak RSS, {big_mb} MB log over {small_mb} MB log", memory, MEMORY_TARGET),
    ]  # fmt: skip
    if not agree:
        return 1  # wrong counts are a bug, not a noisy figure: a smoke run fails too
    return finish(results, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
