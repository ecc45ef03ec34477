"""A real SMTP server on loopback that tests send to and read from.

Tests deliver e-mail the way production does, over TCP to an SMTP server
(aiosmtpd, in a thread of its own), and then read what arrived: the headers,
the body, and the links the body carries. Framework-agnostic: use it as
``box = Mailbox(); box.start(); ...; box.stop()`` or as ``with Mailbox() as box:``.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
_LINK = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCTUATION = ".,;:!?)]}"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def recipients(message: EmailMessage) -> set[str]:
    """The lower-cased addresses in a message's To and Cc headers."""
    fields = [str(value) for value in message.get_all("To", []) + message.get_all("Cc", [])]
    return {address.lower() for _name, address in getaddresses(fields) if address}


def text_body(message: EmailMessage) -> str:
    """The plain-text body of a message, decoded, with the wire's CRLF turned back into LF."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, f"no text/plain part in message {message['Subject']!r}"
    return part.get_content().replace("\r\n", "\n")


def links(message: EmailMessage) -> list[str]:
    """The http(s) URLs in the text body, in order, without trailing punctuation."""
    return [match.rstrip(_TRAILING_PUNCTUATION) for match in _LINK.findall(text_body(message))]


class Mailbox:
    """An SMTP server on ``127.0.0.1:port`` that keeps every message it receives."""

    def __init__(self, port: int | None = None, *, login: tuple[str, str] | None = None) -> None:
        """``login`` (user, password) makes the server offer AUTH and accept only that pair."""
        self.port = port or free_port()
        self._received: list[tuple[frozenset[str], EmailMessage]] = []
        self._arrived = threading.Condition()
        self._options: dict[str, Any] = {}
        if login is not None:
            # Plain-text AUTH on loopback: tests have no certificate a client would trust.
            self._options = {"authenticator": _Authenticator(*login), "auth_require_tls": False}
        self._controller: Controller | None = None

    # Lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Listen on ``port``; after :meth:`stop`, starting again listens on the same port."""
        if self._controller is not None:
            return
        # A new controller each time: a stopped one cannot be started again.
        controller = Controller(
            self, hostname=HOST, port=self.port, server_hostname="mailbox.test", **self._options
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening (a test can take the server down); messages received are kept."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Mailbox:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # aiosmtpd handler hook -------------------------------------------------

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = BytesParser(policy=default_policy).parsebytes(content)
        assert isinstance(message, EmailMessage)
        envelope_to = frozenset(address.lower() for address in envelope.rcpt_tos)
        with self._arrived:
            self._received.append((envelope_to, message))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    # Reading what arrived ------------------------------------------------

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        with self._arrived:
            return [message for _to, message in self._received]

    def messages_to(self, to: str) -> list[EmailMessage]:
        """The messages received for ``to`` (as envelope or header recipient)."""
        with self._arrived:
            return self._matching(to)

    def _matching(self, to: str) -> list[EmailMessage]:
        wanted = to.lower()
        return [
            message
            for envelope_to, message in self._received
            if wanted in envelope_to or wanted in recipients(message)
        ]

    def wait_for_message(self, to: str, timeout: float = 10) -> EmailMessage:
        """The first message for ``to``, waiting up to ``timeout`` seconds for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not (found := self._matching(to)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    received = [(m["To"], m["Subject"]) for _to, m in self._received]
                    raise AssertionError(
                        f"no e-mail to {to} within {timeout}s; received (To, Subject): {received}"
                    )
                self._arrived.wait(remaining)
        return found[0]

    @staticmethod
    def links(message: EmailMessage) -> list[str]:
        """The http(s) URLs in a message's text body."""
        return links(message)


class _Authenticator:
    """Accepts exactly one user name and password (LOGIN and PLAIN mechanisms)."""

    def __init__(self, user: str, password: str) -> None:
        self._expected = LoginPassword(user.encode(), password.encode())

    def __call__(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, auth_data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd then answers 235 or 535 itself.
        return AuthResult(success=auth_data == self._expected, handled=False)
