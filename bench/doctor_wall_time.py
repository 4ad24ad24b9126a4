"""Benchmark: `mailcheck doctor` on a healthy local setup, against the three commands run apart.

The setup is real and local: an aiosmtpd STARTTLS server with login (trustme CA) and the test
suite's UDP nameserver serving tests/fixtures/dns, both on loopback. Target: doctor's median
wall time well under 2 s. For scale, the same checks as three separate commands (config, dns,
send-test --login-only) are timed too. Exit status 1 when the target is missed.

    python bench/doctor_wall_time.py [--runs 15]     (needs the test extra)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.nameserver import Nameserver, load_zones  # noqa: E402

from interview_mailcheck.loopback import LoopbackSMTP  # noqa: E402

TARGET_SECONDS = 2.0
USER, PASSWORD = "hiring@good.test", "correct-horse-battery"
MAILCHECK = str(Path(sys.executable).with_name("mailcheck"))


def timed(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    for command in commands:
        completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True)
        if completed.returncode != 0:
            raise SystemExit(
                f"{command} failed: {completed.stdout.decode()}{completed.stderr.decode()}"
            )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
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
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["SSL_CERT_FILE"] = smtp.ca_file()
        ns = ["--nameserver", nameserver.address]
        variants = {
            "mailcheck doctor": [[MAILCHECK, "doctor", *ns]],
            "config + dns + send-test, apart": [
                [MAILCHECK, "config"],
                [MAILCHECK, "dns", *ns],
                [MAILCHECK, "send-test", "--login-only"],
            ],
        }
        for commands in variants.values():
            timed(commands, cwd, env)  # warm-up
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, commands in variants.items():
                times[name].append(timed(commands, cwd, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"Python {sys.version.split()[0]}, {args.runs} runs each, median wall time")
    baseline = medians["config + dns + send-test, apart"]
    for name, median in medians.items():
        print(f"  {name:34s} {median * 1000:7.1f} ms   ratio {median / baseline:4.2f}")
    doctor = medians["mailcheck doctor"]
    verdict = "met" if doctor < TARGET_SECONDS else "MISSED"
    print(f"doctor {doctor:.2f} s (target < {TARGET_SECONDS:g} s): {verdict}")
    return 0 if doctor < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
