"""Benchmark: `mailcheck doctor` against the sum of its parts run in one process (issue 15,
item 7).

The setup is real and local: an aiosmtpd STARTTLS server with login (trustme CA) and the test
suite's UDP nameserver serving tests/fixtures/dns, both on loopback. Doctor runs config, dns and
send-test's login and envelope in one report. The baseline is one Python process that does the
same parts through mailcheck's own command functions (config_report, dns_report,
send_test_report --envelope) and renders each report as text, after importing mailcheck's
command line (Typer and the commands, as `mailcheck` does): what the parts cost with one
start-up, so the ratio is what doctor's orchestration and its one combined report
add (three separate `mailcheck` processes would pay start-up three times, a ratio near 0.5
that says nothing). Both sides are fresh processes, alternated pair by pair; the figure is
the median of the per-pair ratios.

Target: at most 1.1. Exit status 1 when missed.

    python bench/doctor.py [--pairs 11] [--smoke]     (needs the test extra)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, ROOT, alternate, finish, parser, run, verdict

sys.path.insert(0, str(ROOT / "tests"))
from support.nameserver import Nameserver, load_zones

from interview_mailcheck.loopback import LoopbackSMTP

TARGET = 1.1
USER, PASSWORD = "hiring@good.test", "correct-horse-battery"
PARTS = """
import sys
from pathlib import Path

import interview_mailcheck.cli  # the command line's start-up (Typer), which doctor pays once

from interview_mailcheck.checks.smtp import SendTestOptions
from interview_mailcheck.commands.config import config_report
from interview_mailcheck.commands.dns import dns_report
from interview_mailcheck.commands.send_test import send_test_report
from interview_mailcheck.dnsdata import parse_nameserver
from interview_mailcheck.render import RenderOptions, get_renderer

env = Path(".env")
nameservers = [parse_nameserver({nameserver!r})]
render = get_renderer("text")
for report in (
    config_report(env, strict=False),
    dns_report(env, nameservers=nameservers),
    send_test_report(env, SendTestOptions(envelope=True), strict=False),
):
    sys.stdout.write(render(report, RenderOptions(False, False, 100)))
"""


def main() -> int:
    options = parser(__doc__.splitlines()[0], pairs=11).parse_args()
    pairs = 2 if options.smoke else options.pairs
    with (
        LoopbackSMTP("starttls", users={USER: PASSWORD}) as smtp,
        Nameserver(load_zones(ROOT / "tests" / "fixtures" / "dns")) as nameserver,
        tempfile.TemporaryDirectory() as folder,
    ):
        cwd = Path(folder)
        (cwd / ".env").write_text(
            "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\n"
            f"EMAIL_HOST=localhost\nEMAIL_PORT={smtp.port}\nEMAIL_USE_TLS=True\n"
            f"EMAIL_HOST_USER={USER}\nEMAIL_HOST_PASSWORD={PASSWORD}\n"
            f"DEFAULT_FROM_EMAIL=Hiring <{USER}>\nEMAIL_TIMEOUT=5\n"
        )
        (cwd / "parts.py").write_text(PARTS.format(nameserver=nameserver.address))
        env = {"SSL_CERT_FILE": smtp.ca_file()}
        doctor = [MAILCHECK, "doctor", "--nameserver", nameserver.address]
        baseline = "the parts in one process"
        timed = alternate(
            {
                "mailcheck doctor": lambda: run(doctor, cwd=cwd, env=env, ok=(0,)),
                baseline: lambda: run([sys.executable, "parts.py"], cwd=cwd, env=env, ok=(0,)),
            },
            pairs,
        )
    timed.show(f"Python {sys.version.split()[0]}, {pairs} pairs")
    ratio = timed.ratio("mailcheck doctor", baseline)
    return finish([verdict(f"mailcheck doctor / {baseline}", ratio, TARGET)], options.smoke)


if __name__ == "__main__":
    sys.exit(main())
