"""The app's data behind one invitation: `mailcheck session ID` and `mailcheck sessions`.

The chain the app relies on: the Interview, its session_key, the InterviewSession with that
key, the candidate's email (on the candidate and on the session), the link. Each check is a
plain function over an `InterviewRecord`; the adapter reads the records, read-only. Whether the
addresses can receive mail at all (their domains) is checks/candidate_address.py, run here on
each interview's valid addresses when `InterviewChecks` is given the run's `CandidateDomains`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from interview_mailcheck.checks.candidate_address import CandidateDomains, Side
from interview_mailcheck.findings import Finding, Level, Rule, registered_rules
from interview_mailcheck.interviews import DataLayout, InterviewRecord, is_local_host, template_uses
from interview_mailcheck.mailconfig import ADDRESS, email_address
from interview_mailcheck.registry import check
from interview_mailcheck.values import LIST_LIMIT

ERROR, WARNING = Level.ERROR, Level.WARNING
# A bare address (what the database holds) matches the pattern email_address() applies last,
# in two parts: the local part (one or more of _LOCAL's characters, which every alphanumeric
# character is: str.isalnum() answers first, in C) and the domain, matched once per distinct
# domain and remembered. Together exactly ADDRESS.fullmatch, without a regex per healthy row.
_LOCAL, _AT, _DOMAIN = ADDRESS.pattern.partition("+@")
_bare_local = re.compile(f"{_LOCAL}+").fullmatch
_bare_domain = re.compile(_DOMAIN).fullmatch

NOT_FOUND = Rule(
    id="session.E001",
    level=ERROR,
    title="No interview has this id",
    message="{model} has no row with the primary key {interview_id!r}",
    hint="Copy the id from the admin or the app's log; `mailcheck sessions` lists every interview",
    explanation=(
        "The id is matched against the interview model's primary key (a UUID in the app). An "
        "id that is not even of the right form (a truncated UUID, a stray character) cannot "
        "match any row and is reported the same way."
    ),
)
READ_FROM_A_COPY = Rule(
    id="session.I001",
    level=Level.INFO,
    title="The database was read from a private copy, not in place",
    message="{note}",
    hint="",
    explanation=(
        "A WAL-mode SQLite database (PRAGMA journal_mode=wal) is read through its -wal and "
        "-shm files. Where they do not both exist (or SQLite cannot use them, as in a read-only "
        "folder), a read-only reader would create them beside the database and could not "
        "remove them, or would fail. mailcheck then copies the database and its -wal into a "
        "private temporary folder, checks that the database did not change meanwhile, reads the "
        "copy (so rows committed in the -wal are seen) and removes it: nothing is created or "
        "changed beside the app's database."
    ),
)
NO_SESSION = Rule(
    id="session.E002",
    level=ERROR,
    title="The interview has no session_key: its InterviewSession was never created",
    message=(
        "{field} is empty: the InterviewSession was never created (book_slot or "
        "book_interview did not complete), so no invitation with a link was sent"
    ),
    hint="Book the slot again from the app, and look in its log for the error that stopped it",
    explanation=(
        "Booking a slot (book_slot or book_interview) creates an InterviewSession, stores its "
        "key on the Interview and then emails the link. An empty key means booking stopped "
        "before the session existed: an exception in the view, a rolled-back transaction, or "
        "an interview created outside the booking flow."
    ),
)
ORPHAN_KEY = Rule(
    id="session.E003",
    level=ERROR,
    title="The interview's session_key matches no InterviewSession",
    message="session_key {key!r} matches no {model}: the link in the invitation leads nowhere",
    hint="Book the slot again so that a new session is created, or restore the deleted session",
    explanation=(
        "The Interview stores the key of its InterviewSession, but no session has that key: it "
        "was deleted, created in another database, or the key was edited by hand. The candidate's "
        "link opens no interview room."
    ),
)
CANDIDATE_EMAIL_MISSING = Rule(
    id="session.E004",
    level=ERROR,
    title="The candidate has no email address",
    message="the candidate {name} has no email address",
    hint="Add the candidate's email address, then send the invitation again",
    explanation=(
        "The invitation is addressed to the candidate's email. Without one, send_mail() has no "
        "recipient: Django sends nothing, and the app may still log that the booking succeeded."
    ),
)
CANDIDATE_EMAIL_INVALID = Rule(
    id="session.E005",
    level=ERROR,
    title="The candidate's email address is not valid",
    message="the candidate's email {value!r} is not a valid address",
    hint="Correct the candidate's email address, then send the invitation again",
    explanation=(
        "An address without a domain (or with a typo such as a missing dot) is refused by the "
        "SMTP server at RCPT TO, or bounces: the candidate never gets the link."
    ),
)
SESSION_EMAIL_MISSING = Rule(
    id="session.E006",
    level=ERROR,
    title="The InterviewSession has no candidate email",
    message="the session has no candidate email ({model} {key!r})",
    hint="Set the session's candidate email to the candidate's address (or book again)",
    explanation=(
        "The session keeps the address the invitation went to when it was created. An empty "
        "one means the invitation had no recipient, or the session was created without it."
    ),
)
SESSION_EMAIL_INVALID = Rule(
    id="session.E007",
    level=ERROR,
    title="The InterviewSession's candidate email is not valid",
    message="the session's candidate email {value!r} is not a valid address",
    hint="Correct the session's candidate email (or book again after fixing the candidate's)",
    explanation=(
        "The session kept an address the SMTP server will refuse or that bounces, so the "
        "invitation sent from it cannot arrive."
    ),
)
EMAILS_DIFFER = Rule(
    id="session.W001",
    level=WARNING,
    title="The candidate's email and the session's email differ",
    message="the candidate's email is {candidate!r} but the session's is {session!r}",
    hint="Decide which address is right, update the other, and send the invitation again",
    explanation=(
        "The session copied the candidate's address when it was booked; since then one of them "
        "changed. The invitation may have gone to an old address the candidate no longer reads."
    ),
)
LINK_LOCAL = Rule(
    id="session.W002",
    level=WARNING,
    title="The interview link points at this machine",
    message="the interview link points at {host}: a candidate cannot open it",
    hint=(
        "Build the link from the site's public address (e.g. request.build_absolute_uri or a "
        "SITE_URL setting), and pass the same template with --link-template"
    ),
    explanation=(
        "localhost, 127.0.0.1 and 0.0.0.0 mean the candidate's own computer, where the app does "
        "not run. The link works for the developer testing on the same machine and for nobody "
        "else. The app currently builds http://127.0.0.1:8000/?session_key=..."
    ),
)
LINK_PLAIN_HTTP = Rule(
    id="session.W003",
    level=WARNING,
    title="The interview link uses plain http",
    message="the interview link uses plain http: {link}",
    hint="Serve the site over HTTPS and use an https:// link",
    explanation=(
        "Mail clients and browsers flag http links as not secure, some rewrite or block them, "
        "and the session key travels in clear. Use https:// for anything a candidate opens."
    ),
)
LINK_WITHOUT_KEY = Rule(
    id="session.W004",
    level=WARNING,
    title="The link template carries neither the session key nor the interview id",
    message="the link template {template!r} has neither {{session_key}} nor {{interview_id}}",
    hint="Put the session key in the link, as the app does: /?session_key=<the key>",
    explanation=(
        "Without the key every candidate gets the same link, and the interview room cannot "
        "tell which session to open."
    ),
)
NOT_SCHEDULED = Rule(
    id="session.W005",
    level=WARNING,
    title="The interview has no scheduled time",
    message="{field} is empty: the invitation cannot say when the interview is",
    hint="Set the interview's time (book the slot) before the invitation is sent",
    explanation=(
        "The invitation shows the scheduled time (Interview.started_at). Without it the email "
        "says nothing useful about when to join."
    ),
)
LINK_BROKEN = Rule(
    id="session.E008",
    level=ERROR,
    title="The interview link does not open",
    message="the interview link {link} {outcome}",
    hint="Check that the site is up at that address and that the route accepts the session key",
    explanation=(
        "With --check-link mailcheck fetches the link as a candidate's browser would. A "
        "connection error or an HTTP error status (404, 500...) means the candidate sees an "
        "error page instead of the interview room. Seen from this machine: a site that only "
        "listens here can still answer, which is why localhost links are warned about too."
    ),
)

NOT_LISTED = Rule(
    id="session.I003",
    level=Level.INFO,
    title="More findings of one id than are listed",
    message="{rule_id} ({title}): {count:,} more not listed (--max-listed {limit})",
    hint="Run again with a larger --max-listed (0 for all), or with --since and --until",
    explanation=(
        "To keep memory flat over any number of interviews, `mailcheck sessions` lists the "
        "first --max-listed findings of each id (1000 by default) and counts the others. This "
        "note says how many of one id are beyond the list; the summary's counts (and the "
        "verdict line's) include them, and the exit status is the same as with every one listed."
    ),
)


class Listing:
    """The findings `sessions` lists: the first `limit` of each id (0: all); the others are
    counted by id and by level, so the counts stay exact while memory stays flat."""

    def __init__(self, limit: int = LIST_LIMIT) -> None:
        self.limit = limit
        self.listed: Counter[str] = Counter()
        self.unlisted: Counter[str] = Counter()
        """By finding id: how many were left out of the list."""
        self.unlisted_levels: Counter[Level] = Counter()

    def __call__(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        limit, listed = self.limit, self.listed
        for finding in findings:
            if limit and listed[finding.id] >= limit:
                self.unlisted[finding.id] += 1
                self.unlisted_levels[finding.level] += 1
                continue
            listed[finding.id] += 1
            yield finding

    def notes(self) -> list[Finding]:
        """One session.I003 per id with findings left out, in the order the ids were first cut."""
        rules = {rule.id: rule for rule in registered_rules()}
        return [
            NOT_LISTED.finding(
                rule_id,
                count=count,
                rule_id=rule_id,
                title=rules[rule_id].title if rule_id in rules else rule_id,
                limit=self.limit,
            )
            for rule_id, count in self.unlisted.items()
        ]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


class InterviewChecks:
    """The checks of one interview, with the layout's names looked up once; with `domains`,
    the checks of its addresses' domains too (each domain judged once for the run)."""

    def __init__(self, layout: DataLayout, domains: CandidateDomains | None = None) -> None:
        self.domains = domains
        self.session_model = layout.session_model
        self.key_field = layout.interview_path("session-key")
        self.candidate_field = layout.interview_path("candidate-email")
        self.session_field = layout.session_path("candidate-email")
        self.session_subject = f"{layout.session_model.rsplit('.', 1)[-1]}.{self.session_field}"
        self.started_field = layout.interview_path("started-at")
        self.checked = 0
        """How many interviews `audit()` has examined."""
        self._domain_ok: dict[str, bool] = {}

    def __call__(
        self, record: InterviewRecord, context: dict[str, str] | None = None
    ) -> list[Finding]:
        return self.all_checks(record, context)

    def audit(
        self, rows: Iterable[tuple[Any, ...]], identify: Callable[[str], str] = str
    ) -> Iterator[Finding]:
        """The findings of every interview, each carrying its `interview_id` (from `identify`
        applied to the stored key); `checked` counts the interviews.

        Built for 100,000 rows: `rows` are tuples in InterviewRecord's field order, and a
        healthy interview (session found, the same valid address on both sides, a time, a
        domain already judged fine) is passed over before any record or finding is built.
        The full checks would find nothing in it either.
        """
        healthy_needs_time = bool(self.started_field)
        short_path = bool(self.candidate_field and self.session_field)
        bare_local = _bare_local
        domain_ok = self._domain_ok
        make = InterviewRecord._make
        domains = self.domains
        judged = domains.judged if domains is not None else {}
        count = 0
        for row in rows:
            count += 1
            _, key, _, email, _, _, started, session_email, _ = row
            if (
                short_path
                and key
                and email
                and email == session_email
                and (started is not None or not healthy_needs_time)
                and not key.isspace()
            ):
                local, _, written = email.partition("@")
                if (local.isalnum() or bare_local(local)) and (
                    domain_ok.get(written) or self._domain_matches(written)
                ):
                    if domains is None:
                        continue
                    domain = judged.get(written) or domains.verdict(written)
                    if domain.rule is None:
                        if domain.failure is None:
                            domain.interviews += 1
                        else:
                            domains.passed(domain)
                        continue
            yield from self.all_checks(make(row), {"interview_id": identify(row[0])})
        self.checked = count

    def _domain_matches(self, written: str) -> bool:
        """Whether the part after an address's first '@' is a domain as ADDRESS takes one;
        remembered for the run (a run has few distinct domains)."""
        found = self._domain_ok[written] = _bare_domain(written) is not None
        return found

    def all_checks(
        self, record: InterviewRecord, context: dict[str, str] | None = None
    ) -> list[Finding]:
        findings = self.check_session(record, context)
        candidate, candidate_ok = self.check_candidate_email(record, findings, context)
        if record.session_found and self.session_field:
            self.check_session_email(record, candidate if candidate_ok else None, findings, context)
        if self.started_field and record.started_at is None:
            findings.append(
                NOT_SCHEDULED.finding(self.started_field, field=self.started_field, context=context)
            )
        if self.domains is not None:
            findings += self.domains.check_interview(self.addresses(record), context)
        return findings

    def addresses(self, record: InterviewRecord) -> list[tuple[str, str, Side]]:
        """The interview's distinct valid addresses: (address, subject, side), the candidate's
        first; the session's only when it is another address."""
        found: list[tuple[str, str, Side]] = []
        candidate = _text(record.candidate_email) if self.candidate_field else ""
        candidate_address = email_address(candidate) if candidate else None
        if candidate_address is not None:
            found.append((candidate_address, self.candidate_field, "candidate"))
        session = _text(record.session_email)
        if record.session_found and self.session_field and session:
            session_address = email_address(session)
            if session_address is not None and (
                candidate_address is None or session_address.lower() != candidate_address.lower()
            ):
                found.append((session_address, self.session_subject, "session"))
        return found

    def check_session(
        self, record: InterviewRecord, context: dict[str, str] | None
    ) -> list[Finding]:
        if not _text(record.session_key):
            return [NO_SESSION.finding(self.key_field, field=self.key_field, context=context)]
        if not record.session_found:
            return [
                ORPHAN_KEY.finding(
                    self.key_field,
                    key=record.session_key,
                    model=self.session_model,
                    evidence={"session_key": record.session_key},
                    context=context,
                )
            ]
        return []

    def check_candidate_email(
        self, record: InterviewRecord, findings: list[Finding], context: dict[str, str] | None
    ) -> tuple[str, bool]:
        field = self.candidate_field
        candidate = _text(record.candidate_email)
        if not field:
            return candidate, False
        if not candidate:
            name = _text(record.candidate_name)
            findings.append(
                CANDIDATE_EMAIL_MISSING.finding(
                    field, name=repr(name) if name else "(no name)", context=context
                )
            )
            return candidate, False
        if email_address(candidate) is None:
            findings.append(
                CANDIDATE_EMAIL_INVALID.finding(field, value=candidate, context=context)
            )
            return candidate, False
        return candidate, True

    def check_session_email(
        self,
        record: InterviewRecord,
        candidate: str | None,
        findings: list[Finding],
        context: dict[str, str] | None,
    ) -> None:
        subject = self.session_subject
        session = _text(record.session_email)
        if not session:
            findings.append(
                SESSION_EMAIL_MISSING.finding(
                    subject, model=self.session_model, key=record.session_key, context=context
                )
            )
        elif email_address(session) is None:
            findings.append(SESSION_EMAIL_INVALID.finding(subject, value=session, context=context))
        elif candidate is not None and session.lower() != candidate.lower():
            findings.append(
                EMAILS_DIFFER.finding(
                    subject,
                    candidate=candidate,
                    session=session,
                    evidence={"candidate": candidate, "session": session},
                    context=context,
                )
            )


def check_record(
    record: InterviewRecord, layout: DataLayout, *, context: dict[str, str] | None = None
) -> list[Finding]:
    """Everything that stops this interview's invitation, or makes it wrong."""
    return InterviewChecks(layout).all_checks(record, context)


def check_link_template(template: str) -> list[Finding]:
    """What every link built from the template shares: where it points and how."""
    findings: list[Finding] = []
    parts = urlsplit(template.replace("{session_key}", "KEY").replace("{interview_id}", "ID"))
    host = (parts.hostname or "").lower()
    if is_local_host(host):
        findings.append(LINK_LOCAL.finding("link", host=host, evidence={"template": template}))
    if parts.scheme == "http":
        findings.append(LINK_PLAIN_HTTP.finding("link", link=template))
    if not (template_uses(template, "session_key") or template_uses(template, "interview_id")):
        findings.append(LINK_WITHOUT_KEY.finding("link", template=template))
    return findings


def check_link_status(link: str, status: int | None, reason: str) -> list[Finding]:
    """--check-link: an HTTP error status or no answer at all is an error."""
    if status is not None and status < 400:
        return []
    outcome = f"answers {status} {reason}".rstrip() if status else f"cannot be fetched: {reason}"
    return [
        LINK_BROKEN.finding(
            "link", link=link, outcome=outcome, evidence={"status": status, "reason": reason}
        )
    ]


CHECKS = (
    check(
        "session",
        "interview",
        "database",
        rules=(
            NOT_FOUND,
            NO_SESSION,
            ORPHAN_KEY,
            CANDIDATE_EMAIL_MISSING,
            CANDIDATE_EMAIL_INVALID,
            SESSION_EMAIL_MISSING,
            SESSION_EMAIL_INVALID,
            EMAILS_DIFFER,
            NOT_SCHEDULED,
        ),
        function=check_record,
        expensive=True,
    ),
    check(
        "session",
        "link",
        "link",
        rules=(LINK_LOCAL, LINK_PLAIN_HTTP, LINK_WITHOUT_KEY, LINK_BROKEN),
        function=check_link_template,
    ),
    check("session", "read", "database", rules=(READ_FROM_A_COPY,), expensive=True),
    check("session", "listing", "database", rules=(NOT_LISTED,), expensive=True),
)
