"""Benchmark: `mailcheck dns` against a script making the same queries with dnspython (issue 15,
item 3).

A loopback nameserver (the test suite's, tests/support/nameserver.py) serves tests/fixtures/dns:
the sending domain good.test, with SPF include chain and DMARC, and smtp.gmail.com as EMAIL_HOST.
A warm-up run of mailcheck records the queries it makes (name and type, as the server saw
them); the baseline is a Python script that makes exactly those queries through
dns.resolver.Resolver against the same server and prints each answer. Both are fresh
processes, alternated pair by pair; the figure is the median of the per-pair ratios.

Target: at most 1.1. Exit status 1 when missed.

    python bench/dns_lookups.py [--pairs 11] [--smoke]     (needs the test extra)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, ROOT, alternate, finish, parser, run, verdict

sys.path.insert(0, str(ROOT / "tests"))
from support.nameserver import Nameserver, load_zones

TARGET = 1.1
ENV_FILE = (
    "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\nEMAIL_HOST=smtp.gmail.com\n"
    "EMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=hiring@good.test\n"
    "EMAIL_HOST_PASSWORD=correct-horse-battery\nDEFAULT_FROM_EMAIL=Hiring <hiring@good.test>\n"
)
SCRIPT = """
import sys
import dns.resolver

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = {port}
resolver.lifetime = 10.0
for name, kind in {queries!r}:
    try:
        answer = resolver.resolve(name, kind, raise_on_no_answer=False)
        print(name, kind, [rdata.to_text() for rdata in answer])
    except dns.resolver.NXDOMAIN:
        print(name, kind, "NXDOMAIN")
"""


def main() -> int:
    options = parser(__doc__.splitlines()[0], pairs=11).parse_args()
    pairs = 2 if options.smoke else options.pairs
    with (
        Nameserver(load_zones(ROOT / "tests" / "fixtures" / "dns")) as nameserver,
        tempfile.TemporaryDirectory() as folder,
    ):
        cwd = Path(folder)
        (cwd / ".env").write_text(ENV_FILE)
        command = [MAILCHECK, "dns", "--nameserver", nameserver.address]
        run(command, cwd=cwd, ok=(0,))
        queries = sorted(set(nameserver.queries), key=nameserver.queries.index)
        port = int(nameserver.address.rsplit(":", 1)[1])
        (cwd / "baseline.py").write_text(SCRIPT.format(port=port, queries=queries))
        baseline = f"dnspython script, {len(queries)} queries"
        timed = alternate(
            {
                "mailcheck dns": lambda: run(command, cwd=cwd, ok=(0,)),
                baseline: lambda: run([sys.executable, "baseline.py"], cwd=cwd),
            },
            pairs,
        )
    import dns.version

    timed.show(f"Python {sys.version.split()[0]}, dnspython {dns.version.version}, {pairs} pairs")
    ratio = timed.ratio("mailcheck dns", baseline)
    return finish([verdict(f"mailcheck dns / {baseline}", ratio, TARGET)], options.smoke)


if __name__ == "__main__":
    sys.exit(main())
