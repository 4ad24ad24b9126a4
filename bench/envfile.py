"""Benchmark: reading a large `.env` (issue 15, item 6): linear in the file's size, 30,000 lines
in under 0.5 s for the whole `mailcheck config` run, and the same values as python-dotenv.

Generates env files of 15,000 and 30,000 lines with every quoting form, escapes, comments,
`export` and `${VAR}` references (each to an earlier line), then runs, alternated pair by pair
as fresh processes: `mailcheck config --json` on a 7-line .env (the start-up, subtracted), on
the 15,000-line file and on the 30,000-line one; and python-dotenv's own `dotenv_values()` on
the 30,000-line file for scale. Before timing it checks that mailcheck's values are
python-dotenv's on both files.

Targets: the 30,000-line run under 0.5 s; (30k - start-up) / (15k - start-up) at most 2.5
(linear: 2). Exit status 1 when missed.

    python bench/envfile.py [--pairs 9] [--smoke]
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, alternate, finish, parser, run, verdict

TIME_TARGET = 0.5
LINEAR_TARGET = 2.5
MAIL = (
    "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\nEMAIL_HOST=smtp.gmail.com\n"
    "EMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=hiring.team@gmail.com\n"
    "EMAIL_HOST_PASSWORD=abcdefghijklmnop\nDEFAULT_FROM_EMAIL=hiring.team@gmail.com\n"
    "EMAIL_TIMEOUT=10\n"
)
FORMS = (
    "PLAIN_{i}=value-{i}",
    "export EXPORTED_{i}=1",
    "SINGLE_{i}='it\\'s ${{PLAIN_{j}}} raw'",
    'DOUBLE_{i}="tab\\there ${{PLAIN_{j}}} and \\"quotes\\""',
    "COMMENTED_{i}=x # a comment",
    "# a comment line {i}",
    "",
    "DEFAULTED_{i}=${{MISSING_{i}:-fallback}}",
    "'QUOTED KEY {i}'=q",
    "HASH_{i}=#kept",
)


def env_text(lines: int) -> str:
    out = []
    for i in range(lines):
        form = FORMS[i % len(FORMS)]
        j = max(0, (i // len(FORMS)) * len(FORMS) - len(FORMS))  # an earlier PLAIN_ line
        out.append(form.format(i=i, j=j))
    return "\n".join(out) + "\n" + MAIL


def same_values(path: Path) -> bool:
    """mailcheck's values (adapters/envfile.py) are python-dotenv's (load_dotenv's)."""
    from dotenv.main import DotEnv

    from interview_mailcheck.adapters.envfile import read_env_file

    text = path.read_text(encoding="utf-8")
    with mock.patch.dict(os.environ, {}, clear=True):
        theirs = dict(DotEnv(None, stream=io.StringIO(text), override=False).dict())
    return dict(read_env_file(path, {}).values) == theirs


def main() -> int:
    options = parser(__doc__.splitlines()[0]).parse_args()
    big, half = (300, 150) if options.smoke else (30_000, 15_000)
    pairs = 2 if options.smoke else options.pairs
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        small, medium, large = cwd / "small.env", cwd / "medium.env", cwd / "large.env"
        small.write_text(MAIL)
        medium.write_text(env_text(half))
        large.write_text(env_text(big))
        agree = same_values(medium) and same_values(large)
        print(f"mailcheck's values are python-dotenv's on both files: {'yes' if agree else 'NO'}")

        def config(path: Path):  # type: ignore[no-untyped-def]
            return lambda: run([MAILCHECK, "config", "--env-file", str(path), "--json"], cwd=cwd)

        dotenv_values = [
            sys.executable,
            "-c",
            f"from dotenv import dotenv_values; dotenv_values({str(large)!r})",
        ]
        timed = alternate(
            {
                "start-up (7 lines)": config(small),
                f"{half} lines": config(medium),
                f"{big} lines": config(large),
                f"python-dotenv dotenv_values(), {big} lines": lambda: run(dotenv_values),
            },
            pairs,
        )
    startup = timed.median("start-up (7 lines)")
    timed.show(f"Python {sys.version.split()[0]}, {pairs} pairs", width=45)
    work_half = timed.median(f"{half} lines") - startup
    work_big = timed.median(f"{big} lines") - startup
    print(f"  start-up subtracted: {half} lines {work_half * 1000:.1f} ms, {big} lines "
          f"{work_big * 1000:.1f} ms")  # fmt: skip
    results = [
        agree,
        verdict(f"mailcheck config on {big} lines, seconds", timed.median(f"{big} lines"),
                TIME_TARGET),
        verdict("growth from the half to the whole file (2 is linear)",
                work_big / max(work_half, 1e-3), LINEAR_TARGET),
    ]  # fmt: skip
    return finish(results, options.smoke)


if __name__ == "__main__":
    sys.exit(main())
