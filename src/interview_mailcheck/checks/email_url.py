"""EMAIL_URL, read as django-environ and dj-email-url read it: what breaks it, what only one
loader understands, and where it disagrees with the EMAIL_* variables (`mailcheck config`)."""

from __future__ import annotations

from interview_mailcheck.email_url import encoded, mask_password
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import (
    MailConfig,
)
from interview_mailcheck.registry import check
from interview_mailcheck.secrets import describe_secret
from interview_mailcheck.settings import (
    SECRET_SETTINGS,
    URL_SETTING,
)

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

EMAIL_URL_READ = Rule(
    id="config.I006",
    level=INFO,
    title="EMAIL_URL is set: its values are the ones checked",
    message="EMAIL_URL {url} is read as env.email_url() and dj_email_url.config() read it",
    hint="settings.py must assign what it yields, e.g. vars().update(env.email_url())",
    explanation=(
        "With django-environ or dj-email-url, settings.py builds every EMAIL_* setting from one "
        "URL: smtp+tls://user:password@host:587 (STARTTLS), smtp+ssl://...:465 (implicit TLS), "
        "submission:// (STARTTLS on 587), smtps:// (STARTTLS, despite the name), with options "
        "such as ?timeout=10. mailcheck reads the URL the same way and checks the result."
    ),
)

EMAIL_URL_UNPARSABLE = Rule(
    id="config.E019",
    level=ERROR,
    title="EMAIL_URL cannot be parsed",
    message="EMAIL_URL cannot be parsed: {why}",
    hint="Write it as smtp+tls://user:password@smtp.example.net:587, percent-encoding the password",
    explanation=(
        "django-environ and dj-email-url parse EMAIL_URL with urllib at start-up; a URL they "
        "cannot parse stops the app before it can send anything."
    ),
)

EMAIL_URL_BROKEN = Rule(
    id="config.E020",
    level=ERROR,
    title="EMAIL_URL has unescaped characters that break it",
    message=(
        "the user or password in EMAIL_URL contains {chars} unescaped, which ends the host part "
        "of a URL: the loaders fail with 'Port could not be cast to integer value'"
    ),
    hint="Percent-encode them in the URL: {encodings}",
    explanation=(
        "In a URL, '/', '?' and '#' end the user:password@host:port part. Unescaped in the "
        "password, they cut the URL short, so the text after ':' is taken for a port number. "
        "Percent-encoding ('/' as %2F, '?' as %3F, '#' as %23) keeps them in the password."
    ),
)

EMAIL_URL_AMBIGUOUS = Rule(
    id="config.W014",
    level=WARNING,
    title="EMAIL_URL has characters that loaders read differently",
    message="the {part} in EMAIL_URL contains {chars}: {why}",
    hint="Percent-encode them so every loader reads the same value: {encodings}",
    explanation=(
        "django-environ up to 0.8.1 decodes the user and password with unquote_plus, which "
        "turns '+' into a space (0.9.0 and later keep the '+'). A literal space or '@' works "
        "with Python's urlparse, which splits at the last '@', but not with every URL parser. "
        "Percent-encoded, the value is the same for all of them."
    ),
)

EMAIL_URL_SCHEME = Rule(
    id="config.E021",
    level=ERROR,
    title="EMAIL_URL's scheme is not one the loaders know",
    message="EMAIL_URL's scheme {scheme!r} is not one django-environ or dj-email-url know",
    hint="Use smtp+tls:// (STARTTLS, port 587) or smtp+ssl:// (implicit TLS, port 465)",
    explanation=(
        "django-environ raises ImproperlyConfigured for an unknown scheme; dj-email-url leaves "
        "EMAIL_BACKEND unset. Known: smtp, smtps, smtp+tls, smtp+ssl, submission, submit, and "
        "the console, file, memory and dummy backends (consolemail, filemail... in "
        "django-environ)."
    ),
)

EMAIL_URL_DISAGREES = Rule(
    id="config.W015",
    level=WARNING,
    title="EMAIL_URL and an EMAIL_* variable disagree",
    message=(
        "{name} is set to {variable} but EMAIL_URL yields {from_url}; the URL loaders use "
        "EMAIL_URL's"
    ),
    hint="Remove {name} (or make it agree), so there is one source",
    explanation=(
        "With env.email_url() or dj_email_url.config(), settings.py takes every EMAIL_* value "
        "from the URL and the separate variables are ignored, unless settings.py reads them too, "
        "in which case the last assignment wins. Two sources that disagree are a trap."
    ),
)

EMAIL_URL_ONE_LOADER = Rule(
    id="config.W016",
    level=WARNING,
    title="Part of EMAIL_URL is understood by only one of the URL loaders",
    message="{note}",
    hint="Check which loader settings.py uses; {fix}",
    explanation=(
        "django-environ (env.email_url()) knows smtp, smtps, smtp+tls, smtp+ssl and "
        "consolemail/filemail/memorymail/dummymail; dj-email-url knows smtp, smtps, "
        "submission, submit and console/file/memory/dummy, and reads ?ssl=, ?tls=, ?timeout=, "
        "?_default_from_email= and ?_server_email=, which django-environ ignores. A URL written "
        "for one loader silently means something else to the other."
    ),
)


def check_email_url(config: MailConfig) -> list[Finding]:
    url = config.email_url
    if url is None:
        return []
    raw = config.settings.get(URL_SETTING) or ""
    findings = [EMAIL_URL_READ.finding(URL_SETTING, url=repr(mask_password(raw)))]
    if url.broken:
        findings.append(
            EMAIL_URL_BROKEN.finding(
                URL_SETTING,
                chars=", ".join(f"'{c}'" for c in url.broken),
                encodings=encoded(url.broken),
            )
        )
    elif url.error:
        findings.append(EMAIL_URL_UNPARSABLE.finding(URL_SETTING, why=url.error))
    elif not url.known_scheme:
        findings.append(EMAIL_URL_SCHEME.finding(URL_SETTING, scheme=url.scheme))
    for note, fix in url.one_loader:
        findings.append(EMAIL_URL_ONE_LOADER.finding(URL_SETTING, note=note, fix=fix))
    for part, characters in url.ambiguous.items():
        reasons = []
        if "+" in characters:
            reasons.append("django-environ up to 0.8.1 reads '+' as a space")
        if set(characters) - {"+"}:
            reasons.append("not every URL parser reads a literal '@' or space as urllib does")
        findings.append(
            EMAIL_URL_AMBIGUOUS.finding(
                URL_SETTING,
                part=part,
                chars=", ".join(f"'{c}'" for c in characters),
                why="; ".join(reasons),
                encodings=encoded(characters),
            )
        )
    for name, variable, from_url in config.url_conflicts:
        secret = name in SECRET_SETTINGS
        findings.append(
            EMAIL_URL_DISAGREES.finding(
                name,
                name=name,
                variable=describe_secret(variable) if secret else repr(variable),
                from_url=describe_secret(from_url) if secret else repr(from_url),
            )
        )
    return findings


CHECKS = (
    check(
        "config",
        "email_url",
        "email-url",
        rules=(
            EMAIL_URL_READ,
            EMAIL_URL_UNPARSABLE,
            EMAIL_URL_BROKEN,
            EMAIL_URL_AMBIGUOUS,
            EMAIL_URL_SCHEME,
            EMAIL_URL_DISAGREES,
            EMAIL_URL_ONE_LOADER,
        ),
        function=check_email_url,
    ),
)
