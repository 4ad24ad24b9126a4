"""Benchmark: `mailcheck sessions` at scale (issue 15 item 4, issue 14 item 3): the per-row cost
between 100,000 and 1,000,000 interviews at most 1.2 times that of a script doing
`django.setup()` plus one join over the same tables, and peak memory under 100 MiB at
1,000,000 interviews, in text and in --json, on SQLite and on PostgreSQL.

The databases hold the rows of the example project's `demo_data --generate N` (1 interview in
100 without a session, 1 with an orphan key, 1 without an email: 40,000 errors at 1,000,000),
made by SQL: on SQLite by a recursive CTE here, on PostgreSQL by a throwaway server's
`generate_series` seeder (tests/support/postgres.py, which needs the test extra). The
baseline iterates the join as mailcheck would have to: fetchmany(2000) from
`connection.chunked_cursor()` in a transaction, which on PostgreSQL is a server-side cursor;
like mailcheck it reads the key and the start time as text (psycopg would otherwise build a
UUID and an aware datetime per row, which mailcheck does not pay for).

Every side runs at both sizes as fresh processes, alternated pair by pair (the order flipped
every other pair). A side's per-row cost in one pair is (time at 1M - time at 100k) / 900k; the
figure is the median over the pairs of mailcheck's per-row cost over the baseline's in the
same pair. Memory is each process's own peak RSS (wait4), the largest of the 1M runs. After the
timing, a child process checks that the default --json output at 1M is the `--max-listed 0`
one with only the cap applied (the first 1000 findings of each id listed, a session.I003
for the rest).

    python bench/sessions.py [--pairs 9] [--backend sqlite|postgresql|both] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, ROOT, Pairs, Run, alternate, finish, parser, run, verdict

SITE = ROOT / "examples" / "interview_site"
SETTINGS = "interview_site.settings"
RATIO_TARGET = 1.2
MEMORY_TARGET_MIB = 100.0
LISTED = 1000  # sessions' default --max-listed
SESSIONS = [
    MAILCHECK,
    "sessions",
    "--settings",
    SETTINGS,
    "--pythonpath",
    str(SITE),
    "--no-dns",  # the domain bookkeeping is timed, not a nameserver's latency
]

BASELINE = """
import os, sys

sys.path.insert(0, {site!r})
os.environ["DJANGO_SETTINGS_MODULE"] = {settings!r}
import django

django.setup()
from django.db import connection, transaction

rows = 0
with transaction.atomic(), connection.chunked_cursor() as cursor:
    cursor.execute(
        "SELECT CAST(i.id AS text), i.session_key, c.full_name, c.email, j.title, "
        "j.company_name, CAST(i.started_at AS text), s.candidate_email, s.coding_language "
        "FROM interviews_interview i "
        "JOIN interviews_candidate c ON c.id = i.candidate_id "
        "JOIN interviews_job j ON j.id = i.job_id "
        "LEFT JOIN interview_app_interviewsession s ON s.session_key = i.session_key "
        "ORDER BY i.started_at ASC NULLS LAST"
    )
    while chunk := cursor.fetchmany(2000):
        rows += len(chunk)
print(rows)
"""

# demo_data --generate N's rows (examples/interview_site/interviews/management/commands/
# demo_data.py), as tests/support/postgres.py's GENERATE_* make them on PostgreSQL.
SQLITE_GENERATE = (
    "INSERT INTO interviews_job (id, title, company_name) VALUES (2, 'Data Engineer', 'Globex')",
    """
    INSERT INTO interviews_candidate (id, full_name, email)
    WITH RECURSIVE n(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM n WHERE v < :count - 1)
    SELECT v + 1, 'Candidate ' || v,
           CASE WHEN v % 100 = 3 THEN '' ELSE 'candidate' || v || '@example.org' END
    FROM n
    """,
    """
    INSERT INTO interviews_interview (id, candidate_id, job_id, started_at, session_key)
    WITH RECURSIVE n(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM n WHERE v < :count - 1)
    SELECT printf('6e%030x', v), v + 1, 2,
           datetime('2030-01-01 08:00:00', '+' || (v * 30) || ' minutes'),
           CASE WHEN v % 100 = 1 THEN '' ELSE 'gen' || printf('%08d', v) END
    FROM n
    """,
    """
    INSERT INTO interview_app_interviewsession (session_key, candidate_email, coding_language,
                                                created_at)
    WITH RECURSIVE n(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM n WHERE v < :count - 1)
    SELECT 'gen' || printf('%08d', v),
           CASE WHEN v % 100 = 3 THEN '' ELSE 'candidate' || v || '@example.org' END,
           'python', strftime('%Y-%m-%d %H:%M:%f', 'now')
    FROM n WHERE v % 100 NOT IN (1, 2)
    """,
)


def sqlite_databases(folder: Path, sizes: tuple[int, ...]) -> dict[int, dict[str, str]]:
    """A migrated SQLite database per size, filled by SQL; the environment that selects it."""
    empty = folder / "empty.sqlite3"
    run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=SITE,
        env={"INTERVIEW_SITE_DB": str(empty)},
        ok=(0,),
    )
    found = {}
    for size in sizes:
        path = folder / f"interviews-{size}.sqlite3"
        path.write_bytes(empty.read_bytes())
        with sqlite3.connect(path) as connection:
            for statement in SQLITE_GENERATE:
                connection.execute(statement, {"count": size})
        connection.close()
        found[size] = {"INTERVIEW_SITE_DB": str(path)}
    return found


@contextmanager
def postgres_databases(sizes: tuple[int, ...]) -> Iterator[dict[int, dict[str, str]]]:
    """A throwaway PostgreSQL server with a database per size, read as mailcheck_ro."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import PostgresServer

    with PostgresServer() as server:
        found = {}
        for size in sizes:
            site = server.create_site(f"interviews_{size}", demo=None)
            site.generate_with_sql(size)
            found[size] = {"INTERVIEW_SITE_DATABASE_URL": site.url(server.readonly)}
        yield found


def capped(document: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The findings of an uncapped run as the cap lists them (session.I003 left out)."""
    kept: Counter[str] = Counter()
    listed = []
    for finding in document["findings"]:
        kept[finding["id"]] += 1
        if kept[finding["id"]] <= limit:
            listed.append(finding)
    return listed


def only_the_cap_differs(sessions: list[str], env: Mapping[str, str]) -> bool:
    """The default --json output is the --max-listed 0 one with the cap applied, and the
    same summary but for the session.I003 notes."""
    ours = json.loads(run([*sessions, "--json"], env=env, keep_output=True).stdout)
    every = json.loads(
        run([*sessions, "--json", "--max-listed", "0"], env=env, keep_output=True).stdout
    )
    notes = [finding for finding in ours["findings"] if finding["id"] == "session.I003"]
    listed = [finding for finding in ours["findings"] if finding["id"] != "session.I003"]
    summary = {**every["summary"], "infos": every["summary"]["infos"] + len(notes)}

    def rest(document: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in document.items() if key not in ("findings", "summary")}

    return (
        listed == capped(every, LISTED) and ours["summary"] == summary and rest(ours) == rest(every)
    )


def measure(
    backend: str, databases: dict[int, dict[str, str]], pairs: int, cwd: Path
) -> list[bool]:
    small, large = sorted(databases)
    sessions = SESSIONS
    commands = {
        "baseline": [sys.executable, str(cwd / "baseline.py")],
        "mailcheck sessions": sessions,
        "mailcheck sessions --json": [*sessions, "--json"],
    }

    def side(command: list[str], env: Mapping[str, str]) -> Callable[[], Run]:
        return lambda: run(command, cwd=cwd, env=env)

    timed = alternate(
        {
            f"{name} {size}": side(command, databases[size])
            for name, command in commands.items()
            for size in (small, large)
        },
        pairs,
    )
    per_row = Pairs(
        tuple(commands),
        {
            name: [
                (big - little) / (large - small)
                for big, little in zip(
                    timed.times[f"{name} {large}"], timed.times[f"{name} {small}"], strict=True
                )
            ]
            for name in commands
        },
    )
    print(f"{backend}, {pairs} alternated pairs (median wall time, largest peak RSS):")
    for name in commands:
        figures = "  ".join(
            f"{size:>9,}: {timed.median(f'{name} {size}') * 1000:7.0f} ms "
            f"{max(timed.peaks[f'{name} {size}']) / 1024:6.1f} MiB"
            for size in (small, large)
        )
        print(f"  {name:26s} {figures}  per row {per_row.median(name) * 1e6:5.2f} us")
    # In a child of its own: a child's peak RSS counts the memory of the parent it was forked
    # from, and reading the uncapped output would grow this process.
    same = run([sys.executable, __file__, "--compare"], env=databases[large]).returncode == 0
    print(f"{backend}: at {large:,} the output is the uncapped one but for the cap: "
          f"{'yes' if same else 'NO'}")  # fmt: skip
    results = [same]
    for name in ("mailcheck sessions", "mailcheck sessions --json"):
        results.append(
            verdict(
                f"{backend}: {name}, per-row cost over the baseline's (median of per-pair ratios)",
                per_row.ratio(name, "baseline"),
                RATIO_TARGET,
            )
        )
    heaviest = max(
        max(timed.peaks[f"{name} {large}"])
        for name in ("mailcheck sessions", "mailcheck sessions --json")
    )
    results.append(
        verdict(f"{backend}: peak RSS at {large:,} interviews, MiB", heaviest / 1024,
                MEMORY_TARGET_MIB)
    )  # fmt: skip
    return results


def main() -> int:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    options.add_argument("--compare", action="store_true", help=argparse.SUPPRESS)
    arguments = options.parse_args()
    if arguments.compare:  # the output check, in the environment that selects the database
        return 0 if only_the_cap_differs(SESSIONS, os.environ) else 1
    sizes = (1_000, 5_000) if arguments.smoke else (100_000, 1_000_000)
    pairs = 2 if arguments.smoke else arguments.pairs
    backends = ("sqlite", "postgresql") if arguments.backend == "both" else (arguments.backend,)
    import django

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}")
    results: list[bool] = []
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "baseline.py").write_text(BASELINE.format(site=str(SITE), settings=SETTINGS))
        if "sqlite" in backends:
            results += measure("sqlite", sqlite_databases(cwd, sizes), pairs, cwd)
        if "postgresql" in backends:
            with postgres_databases(sizes) as databases:
                results += measure("postgresql", databases, pairs, cwd)
    return finish(results, arguments.smoke)


if __name__ == "__main__":
    sys.exit(main())
