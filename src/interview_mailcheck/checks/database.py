"""Why the app's database would not let mailcheck in or read a table, named as findings.

The Django adapter turns a driver's error into `DatabaseRefused` (what the driver and the
server said, the SQLSTATE, the driver's class names, the connection's settings). `PROBLEMS` is
the one table that knows what those mean: each row matches an SQLSTATE, a driver class or the
server's words, and names the finding and the setting to change, DATABASES[alias][KEY]. A
problem no row knows stays the one-line input error it always was (exit 2).

PostgreSQL's server and libpq write their messages in English unless lc_messages says otherwise;
the SQLSTATE, where the driver has one (after login: 42501, 25006), matches in any language.
What the server said is quoted in each finding, as untrusted text: the renderers escape it, and
like every finding's text it is masked as the finding is made (secrets.py), so a message that
quotes the connection string never shows the password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interview_mailcheck.errors import DatabaseRefused
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.registry import check

ERROR = Level.ERROR

UNREACHABLE = Rule(
    id="session.E013",
    level=ERROR,
    title="The database server does not accept connections (not running, wrong HOST or PORT)",
    message="nothing accepts {vendor} connections at {address}: {server}",
    hint="Start the database server, or set DATABASES['{alias}']['HOST'] and ['PORT'] to where it "
    "listens",
    explanation=(
        "mailcheck connects with the app's own DATABASES settings. The connection was refused "
        "(no server listens on that host and port: it is not running, or listens elsewhere), or "
        "the host name does not resolve. The app itself cannot reach its database from here "
        "either. Start the server, or correct HOST and PORT (an empty HOST is the local Unix "
        "socket)."
    ),
)
LOGIN_REFUSED = Rule(
    id="session.E014",
    level=ERROR,
    title="The database server refused the login (wrong PASSWORD or USER)",
    message="{vendor} at {address} refused the login as {user_shown}: {server}",
    hint="Set DATABASES['{alias}']['PASSWORD'] to the password of the role {user_shown} (and "
    "['USER'] to the role mailcheck reads as)",
    explanation=(
        "The server answered but would not log the role in: the password is wrong "
        "(SQLSTATE 28P01), none was given, or the role does not exist. mailcheck logs in with "
        "the app's own settings, so the app cannot either, unless mailcheck runs with other "
        "settings (a read-only role: see the README's 'PostgreSQL'). The password is never "
        "shown."
    ),
)
DATABASE_MISSING = Rule(
    id="session.E015",
    level=ERROR,
    title="The database named in NAME does not exist on the server",
    message="{vendor} at {address} has no database {name!r}: {server}",
    hint="Set DATABASES['{alias}']['NAME'] to the app's database (`psql -l` lists them), or "
    "create it and run `manage.py migrate`",
    explanation=(
        "The server is up and the login is known, but the database NAME is not there "
        "(SQLSTATE 3D000): a typo, another environment's name, or a database not created yet."
    ),
)
SSL_MISMATCH = Rule(
    id="session.E016",
    level=ERROR,
    title="The connection's SSL setting does not match the server's (OPTIONS sslmode)",
    message="{vendor} at {address} and DATABASES['{alias}']['OPTIONS']['sslmode'] "
    "({sslmode_shown}) do not agree: {server}",
    hint="Set DATABASES['{alias}']['OPTIONS']['sslmode'] to what the server accepts: 'require' "
    "when it takes SSL only, 'prefer' or 'disable' when it has ssl off",
    explanation=(
        "Either the client requires SSL (sslmode require, verify-ca, verify-full) and the "
        "server has ssl off, or the server's pg_hba.conf accepts this host only over SSL "
        "(hostssl) and the client connected without it (sslmode disable, or allow). Each "
        "finding says which, and the sslmode that matches the server (or turn SSL on there)."
    ),
)
TIMED_OUT = Rule(
    id="session.E017",
    level=ERROR,
    title="The database server did not answer within the timeout",
    message="no answer from {vendor} at {address} within {timeout} s: {server}",
    hint="Check that DATABASES['{alias}']['HOST'] and ['PORT'] are the database server's "
    "(something there accepts connections but does not answer), or allow longer with "
    "DATABASES['{alias}']['OPTIONS']['connect_timeout'] or --timeout",
    explanation=(
        "Something accepted the connection and then said nothing (a firewall that drops "
        "packets, a port forward to nowhere, another service on that port, a server stuck "
        "starting), so mailcheck gave up after the connect timeout: --timeout when given, else "
        "the app's OPTIONS['connect_timeout'] (1 to 600 s), else 10 s."
    ),
)
NO_PRIVILEGE = Rule(
    id="session.E018",
    level=ERROR,
    title="The database role may not read a table mailcheck needs (no SELECT, USAGE or CONNECT)",
    message="the role {user_shown} may not read {object_kind} {object}: {server}",
    hint="Grant it, as the owner or a superuser: {grant}",
    explanation=(
        "mailcheck only reads: a role with CONNECT on the database, USAGE on the schema and "
        "SELECT on the interview, candidate, job and session tables is all it needs (SQLSTATE "
        "42501 names what is missing). The finding gives the GRANT to run; see the README's "
        "'PostgreSQL' for the whole set."
    ),
)


@dataclass(frozen=True)
class Problem:
    """One row of PROBLEMS: what to match, and the finding it is."""

    rule: Rule
    phase: str
    """'open' (connecting and logging in) or 'read' (a query)."""
    words: str = ""
    """A regular expression searched in what the server said (case-insensitive); its group
    `object`, if any, is what the finding names."""
    sqlstates: tuple[str, ...] = ()
    kind: str = ""
    """A driver exception class (psycopg's ConnectionTimeout), matched in the error's MRO."""
    setting: str = ""
    """The key of DATABASES[alias] to change, the finding's subject ('' for a table's grant)."""
    hint: str | None = None
    """The fix, when not the rule's own."""
    grant: str = ""
    """For NO_PRIVILEGE: what the role lacks, as the start of a GRANT statement."""
    object_kind: str = ""

    def matches(self, refused: DatabaseRefused, *, by_sqlstate: bool) -> re.Match[str] | bool:
        """The server's words matched (or the driver's class); with `by_sqlstate`, the
        SQLSTATE alone, for words in another language."""
        if refused.phase != self.phase:
            return False
        if by_sqlstate:
            return bool(refused.sqlstate) and refused.sqlstate in self.sqlstates
        if self.kind and self.kind in refused.kinds:
            return True
        return bool(self.words) and (
            re.search(self.words, refused.server_text, re.IGNORECASE) or False
        )


_OBJECT = r"\"?(?P<object>[^\s\"]+)\"?"
PROBLEMS = (
    Problem(TIMED_OUT, "open", r"timeout expired", kind="ConnectionTimeout", setting="HOST"),
    Problem(UNREACHABLE, "open", r"Connection refused|No such file or directory", setting="HOST"),
    Problem(
        UNREACHABLE,
        "open",
        r"failed to resolve host|could not translate host name|Name or service not known",
        setting="HOST",
        hint="Set DATABASES['{alias}']['HOST'] to a name this machine resolves (or an address)",
    ),
    Problem(UNREACHABLE, "open", r"No route to host|Network is unreachable", setting="HOST"),
    Problem(
        LOGIN_REFUSED,
        "open",
        r"password authentication failed|no password supplied",
        ("28P01",),
        setting="PASSWORD",
    ),
    Problem(
        LOGIN_REFUSED,
        "open",
        r"role \"[^\"]*\" does not exist",
        setting="USER",
        hint="Set DATABASES['{alias}']['USER'] to a role that exists on the server, or create "
        "it (CREATE ROLE ... LOGIN)",
    ),
    Problem(
        SSL_MISMATCH,
        "open",
        r"server does not support SSL, but SSL was required",
        setting="OPTIONS",
        hint="The server has ssl off: set DATABASES['{alias}']['OPTIONS']['sslmode'] to 'prefer' "
        "(or 'disable'), or turn ssl on in the server's postgresql.conf",
    ),
    Problem(
        SSL_MISMATCH,
        "open",
        r"no pg_hba\.conf entry .*no encryption",
        setting="OPTIONS",
        hint="The server accepts this host over SSL only: set "
        "DATABASES['{alias}']['OPTIONS']['sslmode'] to 'require' (or 'verify-full', with "
        "'sslrootcert')",
    ),
    Problem(
        DATABASE_MISSING, "open", r"database \"[^\"]*\" does not exist", ("3D000",), setting="NAME"
    ),
    Problem(
        NO_PRIVILEGE,
        "open",
        rf"permission denied for database {_OBJECT}",
        setting="USER",
        grant="GRANT CONNECT ON DATABASE",
        object_kind="the database",
    ),
    # A table first: an SQLSTATE 42501 in another language is most likely a table's.
    Problem(
        NO_PRIVILEGE,
        "read",
        rf"permission denied for (?:table|relation) {_OBJECT}",
        ("42501",),
        grant="GRANT SELECT ON",
        object_kind="the table",
    ),
    Problem(
        NO_PRIVILEGE,
        "read",
        rf"permission denied for schema {_OBJECT}",
        ("42501",),
        grant="GRANT USAGE ON SCHEMA",
        object_kind="the schema",
    ),
)


def identifier(name: str) -> str:
    """`name` as SQL writes it: bare when it is a plain lower-case name, else double-quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


_WHERE_PREFIX = re.compile(
    r"^(connection failed: )?(connection to server (at|on) .*? failed: )?", re.IGNORECASE
)
"""libpq's 'connection to server at "HOST", port PORT failed: ', which the finding says itself."""


def _fields(refused: DatabaseRefused) -> dict[str, Any]:
    database: Mapping[str, str] = refused.database
    host, port = database.get("host", ""), database.get("port", "")
    address = f"{host or 'the local socket'}:{port}" if port else host or "the local socket"
    user = database.get("user", "")
    return {
        **database,
        "vendor": "PostgreSQL",
        "alias": database.get("alias") or "default",
        "address": address,
        "user_shown": repr(user) if user else "(USER not set: the login name)",
        "sslmode_shown": repr(database["sslmode"]) if database.get("sslmode") else "not set",
        "timeout": database.get("connect_timeout", "") or "the",
        "server": _WHERE_PREFIX.sub("", refused.server_text),
    }


def database_findings(refused: DatabaseRefused) -> list[Finding]:
    """The finding for what the database refused; [] when PROBLEMS does not know it. The
    server's words first, then the SQLSTATE alone. PostgreSQL's only: the words and the fixes
    are its (another backend's refusal stays the one-line error)."""
    if refused.database.get("vendor") != "postgresql":
        return []
    matched = [(p, p.matches(refused, by_sqlstate=False)) for p in PROBLEMS]
    matched += [(p, p.matches(refused, by_sqlstate=True)) for p in PROBLEMS]
    for problem, found in matched:
        if not found:
            continue
        fields = _fields(refused)
        subject = f"DATABASES[{fields['alias']!r}]"
        if problem.setting:
            subject += f"[{problem.setting!r}]"
        evidence: dict[str, str] = {"sqlstate": refused.sqlstate} if refused.sqlstate else {}
        if problem.grant:
            named = found.group("object") if isinstance(found, re.Match) else ""
            target = named or (fields.get("name", "") if "DATABASE" in problem.grant else "")
            role = fields.get("user") or "<the role>"
            grant = f"{problem.grant} {identifier(target) if target else '<name>'} TO "
            grant += f"{identifier(role) if fields.get('user') else role};"
            fields.update(object=target or "(unnamed)", object_kind=problem.object_kind)
            fields["grant"] = grant
            subject = target or subject
            evidence["grant"] = grant
        return [problem.rule.finding(subject, hint=problem.hint, evidence=evidence, **fields)]
    return []


CHECKS = (
    check(
        "session",
        "database",
        "database",
        rules=(UNREACHABLE, LOGIN_REFUSED, DATABASE_MISSING, SSL_MISMATCH, TIMED_OUT, NO_PRIVILEGE),
        function=database_findings,
        expensive=True,
    ),
)
