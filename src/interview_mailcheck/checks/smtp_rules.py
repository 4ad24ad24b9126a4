"""The rules of `mailcheck send-test`: what each step of the SMTP walk reports (data).

The walk is checks/smtp.py; what a failure at a step means is the table in
checks/smtp_failures.py, which names these rules.
"""

from __future__ import annotations

from interview_mailcheck.findings import Level, Rule

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

# --- Each step that worked -----------------------------------------------------------------------

RESOLVED = Rule(
    id="smtp.I001",
    level=INFO,
    title="EMAIL_HOST resolves",
    message="{host} resolves to {addresses}",
    hint="",
    explanation="The system resolver (which honours /etc/hosts) found the host's addresses.",
)


CONNECTED = Rule(
    id="smtp.I002",
    level=INFO,
    title="The server accepts connections on EMAIL_PORT",
    message="connected to {address} port {port}",
    hint="",
    explanation="A TCP connection to the server's port succeeded within the timeout.",
)


GREETED = Rule(
    id="smtp.I003",
    level=INFO,
    title="The server greeted and answered EHLO",
    message="the server greets: {banner}",
    hint="",
    explanation="The server sent its 220 banner and accepted EHLO (or HELO).",
)


TLS_ESTABLISHED = Rule(
    id="smtp.I004",
    level=INFO,
    title="TLS is established",
    message="{how}: {version}, {cipher}",
    hint="",
    explanation="The connection is encrypted; the login and the message travel under TLS.",
)


CERTIFICATE_VERIFIED = Rule(
    id="smtp.I005",
    level=INFO,
    title="The server's certificate is valid for EMAIL_HOST",
    message="certificate for {names} verified; issued by {issuer}, expires {expires}",
    hint="",
    explanation=(
        "The certificate chains to a trusted CA (the system store, SSL_CERT_FILE, SSL_CERT_DIR "
        "or --cafile), is in date, and names EMAIL_HOST."
    ),
)


LOGGED_IN = Rule(
    id="smtp.I006",
    level=INFO,
    title="The server accepted the login",
    message="logged in as {user}: {reply}",
    hint="",
    explanation="AUTH succeeded with EMAIL_HOST_USER and EMAIL_HOST_PASSWORD.",
)


LOGIN_SKIPPED = Rule(
    id="smtp.I007",
    level=INFO,
    title="No login: no credentials are configured",
    message="no EMAIL_HOST_USER / EMAIL_HOST_PASSWORD: sending without AUTH, as Django would",
    hint="",
    explanation=(
        "Django logs in only when both credentials are set. A local relay such as Mailpit needs "
        "no login; a hosted provider refuses mail from clients that did not log in."
    ),
)


ACCEPTED = Rule(
    id="smtp.I008",
    level=INFO,
    title="The server accepted the test message",
    message="message from {sender} to {recipient} accepted: {reply}",
    hint="",
    explanation=(
        "The server took responsibility for the message (250 after DATA). The reply usually "
        "carries a queue id to look the message up in the provider's logs. Check the "
        "recipient's inbox and spam folder."
    ),
)


LOGIN_ONLY = Rule(
    id="smtp.I009",
    level=INFO,
    title="--login-only: no message was sent",
    message="stopped after login as asked (--login-only): no message sent",
    hint="",
    explanation="With --login-only the walk ends after the login step, before MAIL FROM.",
)


NOT_CONNECTING = Rule(
    id="smtp.I010",
    level=INFO,
    title="The live test did not run",
    message="not connecting: {why}",
    hint="{fix}",
    explanation=(
        "send-test first runs the offline checks of `mailcheck config`; their errors (or a "
        "backend that does not use SMTP) stop it before any connection."
    ),
)


# --- What can fail ---------------------------------------------------------------------------

NO_SUCH_HOST = Rule(
    id="smtp.E001",
    level=ERROR,
    title="EMAIL_HOST does not resolve",
    message="{detail}",
    hint="Check the spelling of EMAIL_HOST (e.g. smtp.gmail.com): a host name, not a URL",
    explanation=(
        "The system resolver found no address for EMAIL_HOST: a typo, a scheme or port inside "
        "the value, or an internal name used outside its network."
    ),
)


RESOLVE_FAILED = Rule(
    id="smtp.E002",
    level=ERROR,
    title="EMAIL_HOST could not be looked up",
    message="{detail}",
    hint="Check the machine's DNS (resolv.conf) and network, then retry",
    explanation="The lookup failed for another reason than 'no such host': DNS is down or slow.",
)


REFUSED = Rule(
    id="smtp.E003",
    level=ERROR,
    title="Nothing listens on EMAIL_PORT: connection refused",
    message="connection to {host} port {port} refused ({detail})",
    hint="Check EMAIL_PORT (587 for STARTTLS, 465 for implicit TLS) and that the server runs",
    explanation=(
        "The host answered at once that nothing listens on that port: a wrong port, or a local "
        "relay (Mailpit, MailHog) that is not started."
    ),
)


CONNECT_TIMEOUT = Rule(
    id="smtp.E004",
    level=ERROR,
    title="Connecting timed out: a firewall drops the traffic",
    message="no answer from {host} port {port} within {timeout:g} s ({detail})",
    hint=(
        "A firewall drops the traffic: cloud hosts usually block port 25, some networks block "
        "465/587. Try 587, or ask the host to open the port"
    ),
    explanation=(
        "Unlike a refusal, a timeout means the packets vanish: a firewall or security group "
        "drops them. Cloud providers (AWS, GCP, Azure, many VPS) block outbound port 25."
    ),
)


UNREACHABLE = Rule(
    id="smtp.E005",
    level=ERROR,
    title="The network cannot reach EMAIL_HOST",
    message="cannot reach {host} port {port}: {detail}",
    hint="Check the machine's network connection and routes (VPN, proxy, IPv6 without a route)",
    explanation="The operating system has no route to the server's address.",
)


NO_BANNER_IMPLICIT_TLS = Rule(
    id="smtp.E006",
    level=ERROR,
    title="STARTTLS was tried on an implicit-TLS port",
    message=(
        "port {port} sent no greeting within {timeout:g} s and answers a TLS handshake: "
        "it speaks implicit TLS"
    ),
    hint="Set EMAIL_USE_SSL=True and EMAIL_USE_TLS=False, or use EMAIL_PORT=587 with STARTTLS",
    explanation=(
        "On an implicit-TLS port (465) the server waits for the client's TLS handshake and "
        "never sends a plain-text banner. A client configured for STARTTLS (or plain SMTP) waits "
        "for the banner until it times out; Django with no EMAIL_TIMEOUT hangs forever."
    ),
)


NO_BANNER = Rule(
    id="smtp.E007",
    level=ERROR,
    title="The server sent no greeting",
    message="port {port} accepted the connection but sent no greeting within {timeout:g} s",
    hint="The server is overloaded or not an SMTP server; check EMAIL_HOST and EMAIL_PORT",
    explanation=(
        "An SMTP server greets with '220' as soon as the connection opens. Silence means a hung "
        "server, a proxy that holds the connection, or another protocol on that port."
    ),
)


SESSION_REFUSED = Rule(
    id="smtp.E008",
    level=ERROR,
    title="The server refused the session",
    message="the server refused the session: {reply}",
    hint="{fix}",
    explanation=(
        "Instead of 220 (greeting) or 250 (EHLO) the server answered with an error, often "
        "because the client's IP is blocked or the server is overloaded (421)."
    ),
)


NOT_SMTP = Rule(
    id="smtp.E009",
    level=ERROR,
    title="The server does not speak SMTP",
    message="{detail}",
    hint="Check EMAIL_HOST and EMAIL_PORT: something other than an SMTP server answers there",
    explanation="The first line from the server is not an SMTP reply ('220 ...').",
)


SSL_TO_PLAIN_PORT = Rule(
    id="smtp.E010",
    level=ERROR,
    title="Implicit TLS was tried on a STARTTLS port",
    message="port {port} answered the TLS handshake in plain text{banner}",
    hint="Set EMAIL_USE_TLS=True and EMAIL_USE_SSL=False, or use EMAIL_PORT=465",
    explanation=(
        "With EMAIL_USE_SSL the client starts with a TLS handshake, but a STARTTLS port (587, "
        "25) greets in plain text first, and the handshake fails at once with 'wrong version "
        "number'."
    ),
)


NO_STARTTLS = Rule(
    id="smtp.E011",
    level=ERROR,
    title="The server does not offer STARTTLS",
    message=(
        "EMAIL_USE_TLS is on, but the server does not offer STARTTLS: stopped, the credentials "
        "were not sent"
    ),
    hint="Use the provider's submission port (587) or EMAIL_USE_SSL=True with port 465",
    explanation=(
        "Django raises SMTPNotSupportedError when STARTTLS is not offered. mailcheck stops "
        "there too, so the credentials never cross an unencrypted connection."
    ),
)


LOGIN_REFUSED = Rule(
    id="smtp.E012",
    level=ERROR,
    title="The server refused the login",
    message="{meaning}",
    hint="{fix}",
    explanation=(
        "The server answered AUTH with a permanent error (5xx). mailcheck explains the reply "
        "from the provider table: Gmail's 535 5.7.8 means the account password was used instead "
        "of an App Password; Microsoft's 535 5.7.139 means SMTP AUTH is disabled; SES's 535 "
        "means IAM keys were used instead of SMTP credentials; SendGrid's user must be 'apikey'."
    ),
)


STARTTLS_REFUSED = Rule(
    id="smtp.E013",
    level=ERROR,
    title="The server refused STARTTLS",
    message="the server answered STARTTLS with {code}: stopped, the credentials were not sent",
    hint="Retry later (454 is temporary); if it persists use port 465 with EMAIL_USE_SSL=True",
    explanation="The server offered STARTTLS, then refused it (RFC 3207: 454 TLS not available).",
)


TLS_FAILED = Rule(
    id="smtp.E014",
    level=ERROR,
    title="The TLS handshake failed",
    message="{detail}",
    hint="Check that EMAIL_PORT and the TLS mode match the server; update OpenSSL if it is old",
    explanation=(
        "The TLS handshake failed for a reason other than the certificate: no common protocol "
        "version or cipher, or the server dropped the handshake."
    ),
)


CERTIFICATE_NO_CA = Rule(
    id="smtp.E030",
    level=ERROR,
    title="The server's certificate cannot verify: Django's TLS context trusts no CA",
    message=(
        "certificate not trusted ({reason}): {detail}; with {names} set, Django's TLS context "
        "holds no CA certificate, so no server certificate can verify{about}"
    ),
    hint=(
        "Remove EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE unless the server demands a client "
        "certificate; if it does, subclass the SMTP EmailBackend and build ssl_context with "
        "ssl.create_default_context() before load_cert_chain()"
    ),
    explanation=(
        "send-test walks with the TLS context Django builds. With EMAIL_SSL_CERTFILE or "
        "EMAIL_SSL_KEYFILE set that is ssl.SSLContext(PROTOCOL_TLS_CLIENT) with the client "
        "certificate and no CA certificate (config.E026): the server's certificate fails "
        "verification however valid it is, and SSL_CERT_FILE or --cafile change nothing, as "
        "they change nothing for the app."
    ),
)
CERTIFICATE_FAILED = Rule(
    id="smtp.E015",
    level=ERROR,
    title="The server's certificate does not verify",
    message="certificate not trusted ({reason}): {detail}{about}",
    hint="{fix}",
    explanation=(
        "Django verifies the server certificate against the system trust store (honouring "
        "SSL_CERT_FILE and SSL_CERT_DIR). A self-signed certificate, one from an unknown CA, an "
        "expired one or one issued for another name fails, and the app cannot send. Fix the "
        "server or EMAIL_HOST; for a private CA, trust it with SSL_CERT_FILE (or --cafile here). "
        "--insecure skips verification for debugging only."
    ),
)


INSECURE = Rule(
    id="smtp.W001",
    level=WARNING,
    title="--insecure: the certificate was not verified",
    message="certificate verification skipped (--insecure): this run proves nothing about it",
    hint="Drop --insecure; Django always verifies, so what fails here fails in the app",
    explanation="--insecure is for debugging only: Django verifies the certificate.",
)


PLAINTEXT_LOGIN_REFUSED = Rule(
    id="smtp.E016",
    level=ERROR,
    title="Login refused by mailcheck: the connection is not encrypted",
    message="not sending the credentials over an unencrypted connection",
    hint="Set EMAIL_USE_TLS=True (port 587); for a local test relay pass --allow-plaintext-auth",
    explanation=(
        "Without TLS, AUTH sends the user name and password in base64, which anyone on the path "
        "can read. mailcheck does not do that unless --allow-plaintext-auth says the relay is "
        "local."
    ),
)


PLAINTEXT_LOGIN = Rule(
    id="smtp.W002",
    level=WARNING,
    title="The credentials were sent without encryption",
    message="logged in over an unencrypted connection (--allow-plaintext-auth)",
    hint="Acceptable only for a relay on this machine or network",
    explanation="--allow-plaintext-auth lets the login cross an unencrypted connection.",
)


AUTH_NOT_OFFERED = Rule(
    id="smtp.E017",
    level=ERROR,
    title="The server offers no login the client can use",
    message="{detail}",
    hint="Check the port; for a relay without login leave the credentials empty",
    explanation=(
        "Credentials are configured but the server's EHLO lists no AUTH mechanism smtplib "
        "supports (PLAIN, LOGIN, CRAM-MD5). Django then fails with SMTPNotSupportedError. "
        "Some servers offer AUTH only after STARTTLS."
    ),
)


LOGIN_TEMPORARY = Rule(
    id="smtp.E018",
    level=ERROR,
    title="The login failed for a temporary reason",
    message="{meaning}",
    hint="{fix}",
    explanation=(
        "A 4xx reply to AUTH is temporary (RFC 4954: 454 4.7.0): do not change the password "
        "because of it. Retry later, and reuse one connection for several messages."
    ),
)


SENDER_REFUSED = Rule(
    id="smtp.E019",
    level=ERROR,
    title="The server refused the sender (MAIL FROM)",
    message="sender {sender} refused: {meaning}",
    hint="{fix}",
    explanation=(
        "The server refused DEFAULT_FROM_EMAIL: it is not the account or a verified sender "
        "(553, Microsoft 550 5.7.60, SES 554 not verified), or a login is required first (530)."
    ),
)


RECIPIENT_REFUSED = Rule(
    id="smtp.E020",
    level=ERROR,
    title="The server refused the recipient (RCPT TO)",
    message="recipient {recipient} refused: {meaning}",
    hint="{fix}",
    explanation=(
        "The server would not take mail for the recipient: a typo in --to, a sandbox that only "
        "sends to verified recipients (SES, Mailgun), or relaying denied without login."
    ),
)


MESSAGE_REFUSED = Rule(
    id="smtp.E021",
    level=ERROR,
    title="The server refused the message (DATA)",
    message="message refused: {meaning}",
    hint="{fix}",
    explanation="The server refused the message body: size, content policy or a quota.",
)


STEP_TIMEOUT = Rule(
    id="smtp.E022",
    level=ERROR,
    title="The server stopped answering mid-dialogue",
    message="{detail} during {step}",
    hint="Retry; if it persists the server or a middlebox is broken (check EMAIL_TIMEOUT too)",
    explanation=(
        "Every step is bounded by the timeout and the whole test by a couple of timeouts; "
        "the server did not finish the step in time."
    ),
)


DISCONNECTED = Rule(
    id="smtp.E023",
    level=ERROR,
    title="The server closed the connection mid-dialogue",
    message="{detail} during {step}",
    hint="Check the server's logs: it may reject the client's IP, EHLO name or TLS settings",
    explanation="The server hung up before the step was complete.",
)


PROTOCOL_ERROR = Rule(
    id="smtp.E024",
    level=ERROR,
    title="The server broke the SMTP protocol",
    message="{detail} during {step}",
    hint="Check that EMAIL_HOST and EMAIL_PORT point at an SMTP server, not a proxy",
    explanation=(
        "The server sent something that is not a valid SMTP reply, a line longer than any "
        "server sends, or a reply that never ends."
    ),
)


NO_RECIPIENT = Rule(
    id="smtp.E025",
    level=ERROR,
    title="No recipient for the test message",
    message="no recipient: EMAIL_HOST_USER is not an address and --to is not given",
    hint="Pass --to you@example.org (or --login-only to stop after the login)",
    explanation="The test message goes to --to, by default to EMAIL_HOST_USER (to yourself).",
)


NOT_ASCII = Rule(
    id="smtp.E026",
    level=ERROR,
    title="The credentials are not ASCII",
    message="the user name or password contains non-ASCII characters, which smtplib cannot send",
    hint="Use an ASCII password (an App Password or API key is always ASCII)",
    explanation=(
        "smtplib encodes the AUTH payload as ASCII, so Django fails with UnicodeEncodeError "
        "before the server sees the login."
    ),
)


STARTTLS_NOT_STARTED = Rule(
    id="smtp.E027",
    level=ERROR,
    title="The server accepted STARTTLS but did not start TLS",
    message=(
        "the server answered STARTTLS with 220, then went on in plain text instead of starting "
        "TLS: stopped, the credentials were not sent"
    ),
    hint=(
        "Something between here and the server breaks STARTTLS (an antivirus or firewall that "
        "inspects mail, a proxy): send from another network, or use EMAIL_USE_SSL=True with "
        "port 465"
    ),
    explanation=(
        "After '220 Ready to start TLS' the client starts a TLS handshake, and the server must "
        "answer it. This one kept talking plain SMTP. That is not a setting of the app's: the "
        "TLS mode is right (the server offered and accepted STARTTLS). It is what a broken "
        "server or a middlebox that strips or intercepts STARTTLS does; Django fails with an "
        "SSL error on every send."
    ),
)


LOGIN_NOT_CONFIRMED = Rule(
    id="smtp.E028",
    level=ERROR,
    title="The server did not confirm the login (no 235)",
    message="the server answered the login with {code}, not 235: the client is not logged in",
    hint=(
        "Check that EMAIL_HOST and EMAIL_PORT are the provider's submission server; a 503 "
        "('bad sequence of commands') to AUTH means the server does not take the login here"
    ),
    explanation=(
        "RFC 4954: only 235 means that AUTH succeeded. smtplib, which Django uses, also "
        "returns quietly on 503 (it takes it for 'already authenticated'), so Django would go "
        "on without a login and the server would refuse the message later. mailcheck counts "
        "only 235 as a login."
    ),
)


ENVELOPE_ACCEPTED = Rule(
    id="smtp.I011",
    level=INFO,
    title="The server would take the message (--envelope): nothing was sent",
    message="MAIL FROM {sender} and RCPT TO {recipients} accepted, then RSET: nothing was sent",
    hint="",
    explanation=(
        "With --envelope (and in doctor by default) the walk logs in, gives the envelope of the "
        "invitation (MAIL FROM DEFAULT_FROM_EMAIL, RCPT TO each --to) and resets it with RSET: "
        "a From the account may not use, or a recipient the server refuses, shows up without "
        "sending anything. A server may still refuse the message after DATA (a quota, a "
        "sandbox, content): only --confirm (or sending) proves that."
    ),
)
SELF_ONLY = Rule(
    id="smtp.W003",
    level=WARNING,
    title="The only recipient was the sender itself",
    message=(
        "the only recipient was {recipient}, the account itself: a server that delivers to "
        "the sender and refuses everyone else passes this test"
    ),
    hint=(
        "Pass --to an address at another domain (a candidate's test inbox) to see what "
        "candidates get"
    ),
    explanation=(
        "Amazon SES in its sandbox delivers to verified addresses only (the account's own), and "
        "refuses every other recipient with '554 Message rejected: Email address is not "
        "verified'; some relays deliver to their own users only. A test message to yourself "
        "then passes while every invitation fails."
    ),
)
RETRIED = Rule(
    id="smtp.W004",
    level=WARNING,
    title="The server accepted only after a retry",
    message="passed on attempt {attempt} of {attempts}; before that: {failures}",
    hint=(
        "Expect transient refusals from this server (busy providers answer 421 to CI runners): "
        "keep --retries in CI, and let the app retry sending too (a task queue)"
    ),
    explanation=(
        "With --retries N (2 in doctor) a temporary refusal at the greeting or EHLO (4xx), or a "
        "connection dropped at once, is tried again after a short pause. A run that passed only "
        "on a retry says so, because the app sending the invitation does not retry."
    ),
)
EHLO_NAME_REFUSED = Rule(
    id="smtp.E029",
    level=ERROR,
    title="The server refused the EHLO name: it is not fully qualified",
    message="the server refused EHLO {name}: {reply}",
    hint=(
        "Give this host a fully qualified name (hostname -f should print one; in Docker set "
        "`hostname:` and `domainname:`, or --hostname app.example.com): Django sends "
        "socket.getfqdn()"
    ),
    explanation=(
        "Django's SMTP backend introduces itself with EHLO and the machine's fully qualified "
        "name (socket.getfqdn(), cached as DNS_NAME). In a container that is often a bare id "
        "such as 3f2a9c1b7e4d, and Google's smtp-relay and other servers answer '421 4.7.0 Try "
        "again later, closing connection. (EHLO)' or a 5xx to a name without a dot. mailcheck "
        "sends the same name Django would (or --ehlo NAME)."
    ),
)
RETRIES_FAILED = Rule(
    id="smtp.I012",
    level=INFO,
    title="Every attempt was refused",
    message="the server refused all {attempts} attempts: {failures}",
    hint="",
    explanation=(
        "With --retries N a temporary refusal at the greeting or EHLO is tried again; this "
        "says how often it was tried before the failure reported above was given up on."
    ),
)
