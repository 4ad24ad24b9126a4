"""`python manage.py demo_data`: the interviews mailcheck's README and tests talk about.

Idempotent: every row has a fixed id, so running it twice leaves the same data.

  healthy         booked: a session, the candidate's email on both sides
  no session      session_key empty: booking never created the InterviewSession
  orphan key      session_key set, but no InterviewSession has that key
  no email        the candidate (and so the session) has no email address
  email differs   the session was created with an older address of the candidate
  invalid email   the candidate's address has no domain dot (a typo)

`--generate N` creates N generated interviews instead (for audits at scale: the tests and
bench/sessions.py): one in a hundred has no session, one an orphan key, one no email.
"""

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from interview_app.models import InterviewSession

from interviews.models import Candidate, Interview, Job

HEALTHY = uuid.UUID("6f1c2a3e-0001-4c8e-9a51-2b7d3e4f5a60")
NO_SESSION = uuid.UUID("6f1c2a3e-0002-4c8e-9a51-2b7d3e4f5a60")
ORPHAN_KEY = uuid.UUID("6f1c2a3e-0003-4c8e-9a51-2b7d3e4f5a60")
NO_EMAIL = uuid.UUID("6f1c2a3e-0004-4c8e-9a51-2b7d3e4f5a60")
EMAIL_DIFFERS = uuid.UUID("6f1c2a3e-0005-4c8e-9a51-2b7d3e4f5a60")
INVALID_EMAIL = uuid.UUID("6f1c2a3e-0006-4c8e-9a51-2b7d3e4f5a60")

# (interview id, candidate, candidate email, session key, session email, language, start UTC)
ROWS = (
    (
        HEALTHY,
        "Asha Rao",
        "asha.rao@example.org",
        "k7Qm2xHealthy",
        "asha.rao@example.org",
        "python",
        datetime(2030, 3, 4, 9, 30, tzinfo=timezone.utc),
    ),
    (
        NO_SESSION,
        "Ben Okafor",
        "ben.okafor@example.org",
        "",
        None,
        None,
        datetime(2030, 3, 4, 11, 0, tzinfo=timezone.utc),
    ),
    (
        ORPHAN_KEY,
        "Chen Wei",
        "chen.wei@example.org",
        "p3Zr8vOrphan",
        None,
        None,
        datetime(2030, 3, 5, 8, 0, tzinfo=timezone.utc),
    ),
    (
        NO_EMAIL,
        "Dana Levi",
        "",
        "w9Lc4tNoEmail",
        "",
        "javascript",
        datetime(2030, 3, 5, 13, 15, tzinfo=timezone.utc),
    ),
    (
        EMAIL_DIFFERS,
        "Emeka Obi",
        "emeka.obi@example.org",
        "r2Dv6nDiffers",
        "emeka@oldmail.example.org",
        "java",
        datetime(2030, 3, 6, 10, 45, tzinfo=timezone.utc),
    ),
    (
        INVALID_EMAIL,
        "Farah Khan",
        "farah.khan@gmail",
        "m5Tb1yInvalid",
        "farah.khan@gmail",
        "python",
        datetime(2030, 3, 6, 15, 0, tzinfo=timezone.utc),
    ),
)


GENERATED_START = datetime(2030, 1, 1, 8, 0, tzinfo=timezone.utc)
BATCH = 5000


class Command(BaseCommand):
    help = "Create the demo interviews (a healthy one and one for each kind of problem)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--generate",
            type=int,
            metavar="N",
            help="create N generated interviews instead of the six demo ones",
        )

    @transaction.atomic
    def handle(self, *args: object, **options: Any) -> None:
        if options["generate"] is not None:
            self.generate(options["generate"])
            return
        job, _ = Job.objects.update_or_create(
            id=1, defaults={"title": "Backend Engineer", "company_name": "Acme Labs"}
        )
        for number, (interview_id, name, email, key, session_email, language, start) in enumerate(
            ROWS, start=1
        ):
            candidate, _ = Candidate.objects.update_or_create(
                id=number, defaults={"full_name": name, "email": email}
            )
            Interview.objects.update_or_create(
                id=interview_id,
                defaults={
                    "candidate": candidate,
                    "job": job,
                    "started_at": start,
                    "session_key": key,
                },
            )
            if session_email is not None:
                InterviewSession.objects.update_or_create(
                    session_key=key,
                    defaults={"candidate_email": session_email, "coding_language": language},
                )
        self.stdout.write(f"{len(ROWS)} demo interviews in {Interview.objects.count()} total")

    def generate(self, count: int) -> None:
        """N interviews in bulk; numbers 1, 2 and 3 of every hundred have a problem."""
        job, _ = Job.objects.get_or_create(
            id=2, defaults={"title": "Data Engineer", "company_name": "Globex"}
        )
        first = Candidate.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for start in range(0, count, BATCH):
            numbers = range(start, min(start + BATCH, count))
            candidates, interviews, sessions = [], [], []
            for number in numbers:
                kind = number % 100
                email = "" if kind == 3 else f"candidate{number}@example.org"
                key = "" if kind == 1 else f"gen{number:08d}"
                candidate = Candidate(
                    id=first + number + 1, full_name=f"Candidate {number}", email=email
                )
                candidates.append(candidate)
                interviews.append(
                    Interview(
                        id=uuid.UUID(int=(0x6E << 120) + number),
                        candidate=candidate,
                        job=job,
                        started_at=GENERATED_START + timedelta(minutes=30 * number),
                        session_key=key,
                    )
                )
                if key and kind != 2:
                    sessions.append(InterviewSession(session_key=key, candidate_email=email))
            Candidate.objects.bulk_create(candidates)
            Interview.objects.bulk_create(interviews)
            InterviewSession.objects.bulk_create(sessions)
        self.stdout.write(f"{count} generated interviews in {Interview.objects.count()} total")
