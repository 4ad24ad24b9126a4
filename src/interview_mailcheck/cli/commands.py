"""The commands: each parses its options (declared in options.py), calls its command module
(commands/), and leaves rendering and the exit status to `run` (cli/app.py). Nothing more."""

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from interview_mailcheck import __version__, options, values
from interview_mailcheck.cli.app import (
    Output,
    SettingsSource,
    app,
    reading_the_app,
    reading_the_settings,
    reporting,
    run,
    run_plain,
)
from interview_mailcheck.errors import InputError
from interview_mailcheck.exitcodes import ExitCode

if TYPE_CHECKING:
    from interview_mailcheck.commands.session import DomainLookups, ProjectOptions


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mailcheck {__version__}\n")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Will the interview invitation emails go out?"""


@app.command()
@reporting
@reading_the_settings
def config(
    compare: options.Compare = None,
    compose: options.Compose = None,
    *,
    source: SettingsSource,
    out: Output,
    strict: bool,
) -> None:
    """Check the email settings offline: backend, host, port and TLS mode, credentials, sender.

    Reads the settings the app would see with load_dotenv(): the process environment wins over
    the .env file. With --settings, checks the values Django resolves from that settings module
    instead, and warns where the .env file says otherwise; on Django 6.1 with MAILERS, every
    mailer (--mailer picks the one described). With --compare, also compares the
    env file with another (a worker's), file to file. With --compose, checks each service of a
    docker-compose file that has mail settings, and compares them (--env-file is then the
    project's .env for interpolation). Never prints the password, only whether it is set and
    its length.

    Example: mailcheck config --env-file .env --compare worker.env
    """
    from interview_mailcheck.commands.config import config_report

    options.at_most_one(
        ("--compose", compose), ("--compare", compare), ("--settings", source.settings_module)
    )
    options.at_most_one(("--compose", compose), ("--compare", compare), ("--mailer", source.mailer))
    run(
        lambda: config_report(
            source.env_file,
            strict=strict,
            settings_module=source.settings_module,
            pythonpath=source.pythonpath,
            mailer=source.mailer,
            compare=compare,
            compose=compose,
        ),
        out,
        env_file=source.env_file,
        pythonpath=source.pythonpath,
        also_read=(compare,) if compare is not None else (),
    )


@app.command()
def explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A finding id, e.g. config.E001.")],
    debug: options.Debug = False,
) -> None:
    """Print the full explanation and fix for a finding id.

    Example: mailcheck explain config.E012
    """
    from interview_mailcheck.catalog import close_ids, find_rule, general_fix

    def body(out: IO[str]) -> int:
        rule = find_rule(rule_id)
        if rule is None:
            suggestions = close_ids(rule_id)
            hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
            raise InputError(
                f"unknown finding id {rule_id!r}{hint}; `mailcheck checks` lists them all"
            )
        fix = f"\nFix: {general_fix(rule.hint)}\n" if rule.hint else ""
        out.write(f"{rule.id} ({rule.level.label}): {rule.title}\n\n{rule.explanation}\n{fix}")
        return ExitCode.OK

    run_plain(body, debug)


@app.command()
def checks(
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            metavar="TAG",
            help="Only the checks with this tag or area (config, smtp, dns, session, django, "
            "logs, network, database, expensive, transport, credentials...); repeatable.",
            show_default=False,
        ),
    ] = None,
    json: options.Json = False,
    debug: options.Debug = False,
) -> None:
    """List every check, and every finding id it can report with its level and title.

    Example: mailcheck checks --tag dns
    """
    from interview_mailcheck.catalog import catalogue

    def body(out: IO[str]) -> int:
        out.write(catalogue(tuple(tag or ()), as_json=json))
        return ExitCode.OK

    run_plain(body, debug)


@app.command("send-test")
@reporting
@reading_the_settings
def send_test(
    to: options.Recipients = None,
    login_only: Annotated[
        bool, typer.Option("--login-only", help="Stop after the login; send nothing.")
    ] = False,
    envelope: Annotated[
        bool,
        typer.Option(
            "--envelope",
            help="After the login, give MAIL FROM and RCPT TO each --to, then RSET: what the "
            "server would take, with nothing sent.",
        ),
    ] = False,
    ehlo: options.Ehlo = None,
    retries: Annotated[int, options.retries_option(0)] = 0,
    timeout: options.Timeout = None,
    cafile: options.Cafile = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Do not verify the server certificate (debugging only)."),
    ] = False,
    allow_plaintext_auth: Annotated[
        bool,
        typer.Option(
            "--allow-plaintext-auth",
            help="Allow the login over an unencrypted connection (local test relays only).",
        ),
    ] = False,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm",
            help="After sending, log in to the mailbox over IMAP and say where the message "
            "arrived (inbox or spam), what SPF, DKIM and DMARC said, and whether the From "
            "was rewritten. The password is MAILCHECK_IMAP_PASSWORD, else EMAIL_HOST_PASSWORD.",
        ),
    ] = False,
    imap_host: options.ImapHost = None,
    imap_port: Annotated[
        int | None,
        options.port_option(
            "--imap-port", "The IMAP port (default: 993, or 143 with --imap-starttls)."
        ),
    ] = None,
    imap_starttls: Annotated[
        bool,
        typer.Option("--imap-starttls", help="Plain IMAP upgraded with STARTTLS (port 143)."),
    ] = False,
    imap_user: Annotated[
        str | None,
        typer.Option(
            "--imap-user",
            metavar="USER",
            help="Whose mailbox --confirm reads (default: EMAIL_HOST_USER).",
            show_default=False,
        ),
    ] = None,
    confirm_timeout: options.ConfirmTimeout = values.CONFIRM_TIMEOUT,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the test message in the mailbox (--confirm).")
    ] = False,
    *,
    source: SettingsSource,
    out: Output,
    strict: bool,
) -> None:
    """Walk the live SMTP path step by step and say where and why it fails.

    Runs the offline config checks first (their errors stop it before any connection), then:
    resolve EMAIL_HOST, connect, TLS (implicit or STARTTLS), verify the certificate, EHLO with
    the name Django sends, log in, and send one test message to --to (default:
    EMAIL_HOST_USER, i.e. to yourself), or with --envelope only give its envelope. With
    --confirm, follow the message into the mailbox over IMAP (INBOX, Junk, All Mail) and
    delete it there. Each step is a check with its duration; -v shows the SMTP and IMAP
    dialogues with the credentials masked.

    Example: mailcheck send-test --envelope --to asha.rao@example.org --timeout 5
    """
    from interview_mailcheck.checks.smtp import SendTestOptions
    from interview_mailcheck.commands.send_test import send_test_report

    options.at_most_one(
        ("--login-only", login_only), ("--envelope", envelope), ("--confirm", confirm)
    )
    options.only_with(
        ("--confirm", confirm),
        ("--imap-host", imap_host),
        ("--imap-port", imap_port),
        ("--imap-starttls", imap_starttls),
        ("--imap-user", imap_user),
        ("--keep", keep),
    )
    if confirm:
        from interview_mailcheck.commands.confirm import ConfirmOptions
    confirming = (
        ConfirmOptions(
            host=imap_host,
            port=imap_port,
            starttls=imap_starttls,
            user=imap_user,
            within=confirm_timeout,
            keep=keep,
        )
        if confirm
        else None
    )

    smtp_options = SendTestOptions(
        to=tuple(to or ()),
        login_only=login_only,
        envelope=envelope,
        timeout=timeout,
        cafile=str(cafile) if cafile else None,
        insecure=insecure,
        allow_plaintext_auth=allow_plaintext_auth,
        ehlo=ehlo,
        retries=retries,
    )
    run(
        lambda: send_test_report(
            source.env_file,
            smtp_options,
            strict=strict,
            settings_module=source.settings_module,
            pythonpath=source.pythonpath,
            mailer=source.mailer,
            confirming=confirming,
        ),
        out,
        env_file=source.env_file,
        pythonpath=source.pythonpath,
    )


@app.command()
@reporting
@reading_the_settings
def dns(
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="The sending domain to check (default: the domain of DEFAULT_FROM_EMAIL).",
            show_default=False,
        ),
    ] = None,
    nameserver: options.Nameserver = None,
    timeout: options.Timeout = None,
    *,
    source: SettingsSource,
    out: Output,
    strict: bool,
) -> None:
    """Check the DNS records that decide whether invitations are delivered or junked.

    For the sending domain (DEFAULT_FROM_EMAIL's, or --domain): it exists, MX, SPF (one record,
    at most 10 lookups, authorises the provider of EMAIL_HOST) and DMARC; for EMAIL_HOST: an
    A or AAAA record. -v shows every record read.

    Example: mailcheck dns --domain example.com --nameserver 1.1.1.1 -v
    """
    from interview_mailcheck.commands.dns import dns_report

    run(
        lambda: dns_report(
            source.env_file,
            domain=domain,
            nameservers=nameservers(nameserver),
            timeout=timeout,
            strict=strict,
            settings_module=source.settings_module,
            pythonpath=source.pythonpath,
            mailer=source.mailer,
        ),
        out,
        env_file=source.env_file,
        pythonpath=source.pythonpath,
    )


def nameservers(texts: list[str] | None) -> list[Any]:
    from interview_mailcheck.dnsdata import parse_nameserver

    return [parse_nameserver(text) for text in texts or ()]


def domain_lookups(
    nameserver: list[str] | None, timeout: float | None, no_dns: bool
) -> "DomainLookups":
    """--nameserver, --timeout and --no-dns of session and sessions; the first two are a usage
    error with --no-dns, which looks nothing up."""
    from interview_mailcheck.commands.session import NO_DNS, DomainLookups

    if no_dns:
        given = (("--nameserver", nameserver), ("--timeout", timeout))
        used = [name for name, value in given if value]
        if used:
            raise options.OptionError(
                f"{' and '.join(used)} cannot be used with --no-dns, which looks nothing up"
            )
        return NO_DNS
    return DomainLookups(tuple(nameservers(nameserver)), timeout)


# --- The app's data, through Django ----------------------------------------------------------


@app.command()
@reporting
@reading_the_app
def session(
    interview_id: Annotated[
        str, typer.Argument(metavar="INTERVIEW_ID", help="The interview's primary key (a UUID).")
    ],
    check_link: Annotated[
        bool, typer.Option("--check-link", help="Fetch the interview link and report its status.")
    ] = False,
    nameserver: options.Nameserver = None,
    timeout: options.Timeout = None,
    no_dns: options.NoDns = False,
    *,
    project: "ProjectOptions",
    out: Output,
    strict: bool,
) -> None:
    """Walk one interview's chain, read-only: the Interview, its session_key, the
    InterviewSession, the candidate's email and whether its domain receives mail, the link,
    and what the invitation would contain.

    Needs no .env: it reads the app's database through the app's own Django settings. The
    candidate's domain is looked up in DNS (MX, else A/AAAA) unless --no-dns; a misspelt
    provider domain (gmial.com) is found offline either way.

    Example: mailcheck session 6f1c2a3e-0001-4c8e-9a51-2b7d3e4f5a60 --settings mysite.settings
    """
    from interview_mailcheck.commands.session import session_report

    lookups = domain_lookups(nameserver, timeout, no_dns)
    run(
        lambda: session_report(
            interview_id, project, check_link=check_link, strict=strict, dns=lookups
        ),
        out,
        pythonpath=project.pythonpath,
    )


@app.command()
@reporting
@reading_the_app
def sessions(
    since: options.Since = None,
    until: options.Until = None,
    limit: Annotated[
        int | None, options.count_option("--limit", "Check at most N interviews.", minimum=1)
    ] = None,
    max_listed: Annotated[
        int,
        options.count_option(
            "--max-listed",
            "List at most this many findings of each id (0: all); the rest are counted.",
        ),
    ] = values.LIST_LIMIT,
    nameserver: options.Nameserver = None,
    timeout: options.Timeout = None,
    no_dns: options.NoDns = False,
    *,
    project: "ProjectOptions",
    out: Output,
    strict: bool,
) -> None:
    """Run the session checks over every interview (or a window of them), read-only, in one
    streamed query: for a nightly or CI audit. Findings carry the interview id.

    Each distinct candidate email domain is looked up once (unless --no-dns), all the lookups
    within one deadline of twice --timeout.

    Example: mailcheck sessions --settings mysite.settings --since today --json
    """
    from interview_mailcheck.commands.session import sessions_report

    lookups = domain_lookups(nameserver, timeout, no_dns)
    run(
        lambda: sessions_report(
            project,
            since=since,
            until=until,
            limit=limit,
            strict=strict,
            dns=lookups,
            max_listed=max_listed,
        ),
        out,
        pythonpath=project.pythonpath,
    )


@app.command()
@reporting
def doctor(
    settings_module: options.AppSettings = None,
    pythonpath: options.PythonPath = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send the test message (default: log in and give the envelope only, as "
            "send-test --envelope).",
        ),
    ] = False,
    to: options.Recipients = None,
    ehlo: options.Ehlo = None,
    retries: Annotated[int, options.retries_option(2)] = 2,
    timeout: options.Timeout = None,
    nameserver: options.Nameserver = None,
    cafile: options.Cafile = None,
    only: Annotated[
        list[str] | None,
        options.sections_option(
            "--only", "Run only this section: config, dns, send-test, django (repeatable)."
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        options.sections_option("--skip", "Leave this section out (repeatable)."),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="PATH",
            help="Also write a JUnit XML report (a suite per section, a case per check), "
            "besides the report on stdout.",
            show_default=False,
        ),
    ] = None,
    env_file: options.EnvFile = None,
    mailer: options.Mailer = None,
    *,
    out: Output,
    strict: bool,
) -> None:
    """Run every check that applies, in one report: the CI preflight.

    Sections, fast ones first: config, dns, send-test (the login and the envelope, as
    send-test --envelope, unless --send), and, when
    the app's settings module is known (--settings, $DJANGO_SETTINGS_MODULE or
    [tool.mailcheck]), the app's Django settings and an audit of upcoming interviews. A section
    that cannot run because of an earlier one, or that --only/--skip leave out, is reported as
    skipped with the reason.

    Example: mailcheck doctor --format github --junit mailcheck.xml
    """
    from interview_mailcheck.commands.doctor import DoctorOptions
    from interview_mailcheck.commands.doctor import doctor as run_doctor

    doctor_options = DoctorOptions(
        env_file=env_file,
        settings_module=settings_module,
        pythonpath=pythonpath,
        mailer=mailer,
        send=send,
        to=tuple(to or ()),
        ehlo=ehlo,
        retries=retries,
        timeout=timeout,
        nameservers=tuple(nameservers(nameserver)),
        cafile=str(cafile) if cafile else None,
        strict=strict,
        only=tuple(only or ()),
        skip=tuple(skip or ()),
    )
    run(
        lambda: run_doctor(doctor_options),
        out._replace(junit=junit),
        env_file=env_file,
        pythonpath=pythonpath,
    )


@app.command()
@reporting
def logs(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="The app's log: a file (plain or gzip-compressed), or - for standard input.",
            show_default=False,
        ),
    ],
    since: options.Since = None,
    limit: Annotated[
        int,
        options.count_option(
            "--limit", "List at most this many interviews (0: all); the rest are counted."
        ),
    ] = values.LIST_LIMIT,
    *,
    out: Output,
    strict: bool,
) -> None:
    """Read the app's own log: per interview, was the invitation sent, to whom, or why not.

    Finds the app's lines (session created, email sent, sending failed, [EMAIL NOT SENT]) and
    smtplib's exceptions whatever precedes them, explains each failure with the provider's
    reply table, and streams any size of log in constant memory (a file of 64 MiB or more is
    scanned by a second process while this one reads its lines, on two CPUs or more).

    Example: mailcheck logs /var/log/interviews/app.log.gz --since 2024-11-26
    """
    from interview_mailcheck.commands.logs import logs_report

    run(lambda: logs_report(source, since=since, limit=limit, strict=strict), out)


@app.command()
def demo(
    example: Annotated[
        Path | None,
        typer.Option(
            "--example",
            metavar="DIR",
            help="The example Django project (default: ./examples/interview_site).",
            show_default=False,
        ),
    ] = None,
    debug: options.Debug = False,
) -> None:
    """Show the whole tool at work, with no account and no network.

    Runs config on the bundled .env.example, starts a loopback SMTP server that behaves like
    Gmail (STARTTLS, a throwaway CA, Gmail's 535-5.7.8 for a wrong password), runs send-test
    with the right App Password and with a wrong one, then session and sessions on a copy of
    the example Django project. Stops and removes everything it started. Needs the demo extra:
    pip install 'interview-mailcheck[demo]'.

    Example: mailcheck demo
    """
    from interview_mailcheck.render import terminal

    color, width = terminal(sys.stdout)

    def body(out: IO[str]) -> int:
        from interview_mailcheck.commands.demo import show_demo

        return show_demo(example, out, color=color, width=width)

    run_plain(body, debug)
