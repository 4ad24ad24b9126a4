"""EMAIL_SSL_CERTFILE / EMAIL_SSL_KEYFILE: Django's SMTP backend then builds a bare
SSLContext(PROTOCOL_TLS_CLIENT) with the client certificate and no CA, so every server
certificate fails. `config` says so offline and checks the files as Django loads them;
`send-test` walks with that same context against a trustme server the system trusts
(SSL_CERT_FILE), and fails at the certificate as the app would."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from conftest import Run, RunCli
from cryptography.hazmat.primitives import serialization

from interview_mailcheck.loopback import LoopbackSMTP

USER, PASSWORD = "hiring.team@acme-hiring.io", "correct-horse-battery"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A client certificate and its key, another key, an encrypted key, a file that is no PEM."""
    client = trustme.CA().issue_cert("app.acme-hiring.io")
    paths = {
        "cert": tmp_path / "client-cert.pem",
        "key": tmp_path / "client-key.pem",
        "other_key": tmp_path / "other-key.pem",
        "encrypted_key": tmp_path / "encrypted-key.pem",
        "not_pem": tmp_path / "notes.txt",
    }
    client.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    client.private_key_pem.write_to_path(str(paths["key"]))
    trustme.CA().issue_cert("x.test").private_key_pem.write_to_path(str(paths["other_key"]))
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
    paths["encrypted_key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    paths["not_pem"].write_text("not a certificate\n")
    return paths


def env_file(folder: Path, port: int, mode: str = "starttls", **extra: str) -> Path:
    values = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": str(mode == "starttls"),
        "EMAIL_USE_SSL": str(mode == "ssl"),
        "EMAIL_HOST_USER": USER,
        "EMAIL_HOST_PASSWORD": PASSWORD,
        "DEFAULT_FROM_EMAIL": USER,
        "EMAIL_TIMEOUT": "3",
        **extra,
    }
    path = folder / "client-cert.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def findings(result: Run, prefix: str = "") -> list[str]:
    return [line for line in result.findings() if line.startswith(prefix)]


NO_CA = (
    "config.E026 error {subject}: {names} set: Django's SMTP backend then builds its TLS "
    "context as ssl.SSLContext(PROTOCOL_TLS_CLIENT) with the client certificate and no CA "
    "certificates, so the server's certificate never verifies"
)


def test_a_client_certificate_is_the_trap_offline(
    files: dict[str, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    env = env_file(
        tmp_path, 587, EMAIL_SSL_CERTFILE=str(files["cert"]), EMAIL_SSL_KEYFILE=str(files["key"])
    )
    result = run_cli("config", "--env-file", env, "--json")
    assert result.exit_code == 1
    assert findings(result, "config.E02") == [
        NO_CA.format(
            subject="EMAIL_SSL_CERTFILE", names="EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE are"
        )
    ]


def test_without_tls_the_files_play_no_part(
    files: dict[str, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    env = env_file(tmp_path, 25, mode="plain", EMAIL_SSL_CERTFILE=str(files["not_pem"]))
    result = run_cli("config", "--env-file", env, "--json")
    assert findings(result, "config.E02") == []


@pytest.mark.parametrize(
    ("given", "subject", "why"),
    [
        ({"EMAIL_SSL_KEYFILE": "key"}, "EMAIL_SSL_KEYFILE",
         "EMAIL_SSL_KEYFILE is set without EMAIL_SSL_CERTFILE"),
        ({"EMAIL_SSL_CERTFILE": "cert", "EMAIL_SSL_KEYFILE": "other_key"}, "EMAIL_SSL_CERTFILE",
         "the key does not match the certificate"),
        ({"EMAIL_SSL_CERTFILE": "cert", "EMAIL_SSL_KEYFILE": "encrypted_key"},
         "EMAIL_SSL_CERTFILE", "the private key is encrypted with a passphrase"),
        ({"EMAIL_SSL_CERTFILE": "not_pem"}, "EMAIL_SSL_CERTFILE",
         "it is not a PEM certificate and key"),
        ({"EMAIL_SSL_CERTFILE": "missing"}, "EMAIL_SSL_CERTFILE", "{missing} does not exist"),
    ],
)  # fmt: skip
def test_the_files_are_loaded_as_django_loads_them(
    given: dict[str, str],
    subject: str,
    why: str,
    files: dict[str, Path],
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    missing = tmp_path / "nowhere.pem"
    paths = {**files, "missing": missing}
    env = env_file(tmp_path, 587, **{name: str(paths[key]) for name, key in given.items()})
    result = run_cli("config", "--env-file", env, "--json")
    assert result.exit_code == 1
    unusable = findings(result, "config.E027")
    assert unusable == [
        f"config.E027 error {subject}: {subject} cannot be loaded as Django loads it: "
        + why.format(missing=missing)
    ]


def test_an_unreadable_key_is_named(
    files: dict[str, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    env = env_file(
        tmp_path, 587, EMAIL_SSL_CERTFILE=str(files["cert"]), EMAIL_SSL_KEYFILE=str(folder)
    )
    result = run_cli("config", "--env-file", env, "--json")
    assert findings(result, "config.E027") == [
        "config.E027 error EMAIL_SSL_CERTFILE: EMAIL_SSL_CERTFILE cannot be loaded as Django "
        f"loads it: {folder} is a folder"
    ]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_send_test_fails_at_the_certificate_as_the_app_would(
    mode: str,
    ca: trustme.CA,
    trusted: None,
    files: dict[str, Path],
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    with LoopbackSMTP(mode, users={USER: PASSWORD}, ca=ca) as smtp:  # type: ignore[arg-type]
        plain = env_file(tmp_path, smtp.port, mode)
        trusted_run = run_cli("send-test", "--env-file", plain, "--login-only", "--json")
        trap = env_file(
            tmp_path,
            smtp.port,
            mode,
            EMAIL_SSL_CERTFILE=str(files["cert"]),
            EMAIL_SSL_KEYFILE=str(files["key"]),
        )
        result = run_cli("send-test", "--env-file", trap, "--login-only", "--json")
        logins = list(smtp.login_attempts)
    assert trusted_run.exit_code == 0  # the server's certificate is trusted here
    assert result.exit_code == 1
    errors = [f for f in result.json()["findings"] if f["level"] == "error"]
    assert [f["id"] for f in errors] == ["config.E026", "smtp.E030"]
    live = errors[1]
    assert live["step"] in ("tls", "certificate", "starttls")
    assert live["subject"] == "EMAIL_SSL_CERTFILE"
    assert (
        "with EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE set, Django's TLS context holds no CA"
        in (live["message"])
    )
    assert "unable to get local issuer certificate" in live["message"]
    assert live["hint"].startswith("Remove EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE")
    assert logins == [USER]  # only the trusted run logged in: the trap stopped before AUTH


def test_insecure_walks_on_with_the_client_certificate(
    ca: trustme.CA, trusted: None, files: dict[str, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    with LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as smtp:
        env = env_file(
            tmp_path,
            smtp.port,
            EMAIL_SSL_CERTFILE=str(files["cert"]),
            EMAIL_SSL_KEYFILE=str(files["key"]),
        )
        result = run_cli("send-test", "--env-file", env, "--login-only", "--insecure", "--json")
    ids = result.ids()
    assert "smtp.E030" not in ids and "smtp.I006" in ids and "smtp.W001" in ids
    assert result.exit_code == 1  # config.E026 still stands: the app verifies, and fails


def test_the_settings_module_with_a_path_object(
    ca: trustme.CA, trusted: None, files: dict[str, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    """settings.py often writes BASE_DIR / "certs" / "client.pem": a Path, not a string."""
    with LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as smtp:
        module = tmp_path / "cert_settings.py"
        module.write_text(
            "from pathlib import Path\n"
            "SECRET_KEY = 'test-only'\n"
            "EMAIL_HOST = 'localhost'\n"
            f"EMAIL_PORT = {smtp.port}\n"
            "EMAIL_USE_TLS = True\n"
            f"EMAIL_HOST_USER = {USER!r}\n"
            f"EMAIL_HOST_PASSWORD = {PASSWORD!r}\n"
            f"DEFAULT_FROM_EMAIL = {USER!r}\n"
            "EMAIL_TIMEOUT = 3\n"
            f"EMAIL_SSL_CERTFILE = Path({str(files['cert'])!r})\n"
            f"EMAIL_SSL_KEYFILE = Path({str(files['key'])!r})\n"
        )
        result = run_cli(
            "send-test", "--settings", "cert_settings", "--pythonpath", tmp_path, "--login-only",
            "--json",
        )  # fmt: skip
    assert [f["id"] for f in result.json()["findings"] if f["level"] == "error"] == [
        "config.E026",
        "smtp.E030",
    ]
