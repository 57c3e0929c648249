"""Issue 12, SMTP: each way a connection to the SMTP server can go wrong says
what really happened and which setting fixes it, against a real SMTP server
on loopback (aiosmtpd): no STARTTLS offered, a certificate not trusted, no
AUTH offered, a refused login, TLS to a plain port, plain text to a TLS
port, nothing listening, a host that does not resolve."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from letterhead.errors import SmtpError
from letterhead.sending.transports import OutgoingMessage, SmtpTransport

from .helpers import free_port

MESSAGE = OutgoingMessage(template="welcome", template_name="welcome", source="App <noreply@example.com>",
                          to=("ann@example.com",), template_data="{}",
                          parts={"subject": "Hi", "html": "<p>Hi</p>", "text": "Hi"})


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("cert")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    return ctx


def trusting(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


def serve(**kw: Any) -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def plain() -> Iterator[tuple[Inbox, int]]:
    """No STARTTLS, no AUTH: a local test server."""
    yield from serve()


@pytest.fixture
def starttls(cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    yield from serve(tls_context=server_context(cert))


@pytest.fixture
def implicit_tls(cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    yield from serve(ssl_context=server_context(cert))


class RefuseAll:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        return AuthResult(success=False, handled=False)


@pytest.fixture
def auth_server() -> Iterator[tuple[Inbox, int]]:
    yield from serve(authenticator=RefuseAll(), auth_require_tls=False)


def fails(transport: SmtpTransport) -> SmtpError:
    with pytest.raises(SmtpError) as info:
        transport.send(MESSAGE)
    return info.value


def test_default_starttls_against_a_server_without_it(plain: tuple[Inbox, int]) -> None:
    err = fails(SmtpTransport("127.0.0.1", plain[1], timeout=10))
    assert "cannot reach" not in err.message
    assert f"127.0.0.1:{plain[1]} does not offer STARTTLS" in err.message
    assert err.hint and "SMTP_SECURITY=ssl" in err.hint and "SMTP_SECURITY=none" in err.hint
    assert not err.retryable and not plain[0].messages


def test_starttls_works_when_offered_and_trusted(starttls: tuple[Inbox, int], cert: tuple[Path, Path]) -> None:
    SmtpTransport("127.0.0.1", starttls[1], timeout=10, ssl_context=trusting(cert)).send(MESSAGE)
    assert len(starttls[0].messages) == 1


def test_a_certificate_that_cannot_be_verified(starttls: tuple[Inbox, int], implicit_tls: tuple[Inbox, int]
                                               ) -> None:
    for security, port in (("starttls", starttls[1]), ("ssl", implicit_tls[1])):
        err = fails(SmtpTransport("127.0.0.1", port, security=security, timeout=10))
        assert "certificate" in err.message and "cannot reach" not in err.message, security
        assert err.hint and "certificate" in err.hint
        assert not err.retryable


def test_a_login_the_server_does_not_offer(plain: tuple[Inbox, int]) -> None:
    err = fails(SmtpTransport("127.0.0.1", plain[1], security="none", username="app", password="pw", timeout=10))
    assert "does not offer AUTH" in err.message and "cannot reach" not in err.message
    assert err.hint and "SMTP_USERNAME" in err.hint


def test_a_refused_login(auth_server: tuple[Inbox, int]) -> None:
    err = fails(SmtpTransport("127.0.0.1", auth_server[1], security="none", username="app", password="pw",
                              timeout=10))
    assert "refused the login" in err.message and "535" in err.message
    assert err.hint and "SMTP_PASSWORD" in err.hint and not err.retryable


def test_tls_to_a_plain_port(plain: tuple[Inbox, int]) -> None:
    err = fails(SmtpTransport("127.0.0.1", plain[1], security="ssl", timeout=10))
    assert "does not speak TLS" in err.message and "cannot reach" not in err.message
    assert err.hint and "SMTP_SECURITY=starttls" in err.hint
    assert not err.retryable


@pytest.mark.parametrize("security", ["none", "starttls"])
def test_plain_text_to_a_tls_port(implicit_tls: tuple[Inbox, int], security: str) -> None:
    err = fails(SmtpTransport("127.0.0.1", implicit_tls[1], security=security, timeout=1))
    assert "did not greet" in err.message and "cannot reach" not in err.message
    assert err.hint and "SMTP_SECURITY=ssl" in err.hint


def test_nothing_listening() -> None:
    port = free_port()
    err = fails(SmtpTransport("127.0.0.1", port, security="none", timeout=10))
    assert f"nothing listens on 127.0.0.1:{port}" in err.message
    assert err.hint and "SMTP_PORT" in err.hint
    assert err.retryable  # a server that is restarting may be back


def test_a_host_that_does_not_resolve() -> None:
    err = fails(SmtpTransport("no-such-host.invalid", 2525, security="none", timeout=10))
    assert "no-such-host.invalid" in err.message and "resolve" in err.message
    assert err.hint and "SMTP_HOST" in err.hint
