"""A minimal SIP caller and gateway over UDP, for timing how fast the proxy follows a change.

sipp starts a process per call; a benchmark that asks "does the next call go the
new way yet?" every few milliseconds needs a caller that costs nothing to start.
This one sends an INVITE, answers the proxy's digest challenge (RFC 2617, with or
without qop), and waits for the final answer; the gateway records the
Request-URI of each INVITE it receives and refuses the call with 486, so that
each probe ends at once and leaves no call up.
"""

from __future__ import annotations

import hashlib
import queue
import re
import socket
import threading
import uuid
from dataclasses import dataclass

_CHALLENGE = re.compile(r'(\w+)="?([^",]*)"?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _header(message: str, name: str) -> str | None:
    for line in message.split("\r\n")[1:]:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def _status(message: str) -> int:
    first = message.split("\r\n", 1)[0]
    return int(first.split()[1]) if first.startswith("SIP/2.0") else 0


@dataclass
class Phone:
    """A subscriber's phone that places calls through the proxy."""

    proxy_port: int
    user: str
    domain: str
    password: str
    timeout: float = 3.0

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(self.timeout)
        self.port = self.sock.getsockname()[1]

    def _request(self, method: str, uri: str, call_id: str, cseq: int, branch: str,
                 extra: str = "", to: str | None = None) -> None:
        message = (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:{self.user}@{self.domain}>;tag={call_id[:8]}\r\n"
            f"To: {to or f'<{uri}>'}\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Contact: <sip:{self.user}@127.0.0.1:{self.port}>\r\n"
            f"{extra}Content-Length: 0\r\n\r\n")
        self.sock.sendto(message.encode(), ("127.0.0.1", self.proxy_port))

    def _final(self) -> str:
        while True:
            message = self.sock.recv(65535).decode(errors="replace")
            if _status(message) >= 200:
                return message

    def _authorization(self, challenge: str, uri: str) -> str:
        fields = dict(_CHALLENGE.findall(challenge))
        ha1 = _md5(f"{self.user}:{fields['realm']}:{self.password}")
        ha2 = _md5(f"INVITE:{uri}")
        parts = [f'username="{self.user}"', f'realm="{fields["realm"]}"',
                 f'nonce="{fields["nonce"]}"', f'uri="{uri}"', "algorithm=MD5"]
        if "qop" in fields:
            cnonce = uuid.uuid4().hex[:16]
            response = _md5(f"{ha1}:{fields['nonce']}:00000001:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
        else:
            response = _md5(f"{ha1}:{fields['nonce']}:{ha2}")
        parts.append(f'response="{response}"')
        return "Digest " + ", ".join(parts)

    def call(self, number: str) -> int:
        """Place one call; returns the final status the caller got."""
        uri = f"sip:{number}@{self.domain}"
        call_id = uuid.uuid4().hex
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        self._request("INVITE", uri, call_id, 1, branch)
        answer = self._final()
        # The ACK of a refusal carries the refusal's To (with its tag) to match its transaction.
        self._request("ACK", uri, call_id, 1, branch, to=_header(answer, "To"))
        if _status(answer) != 407:
            return _status(answer)
        authorization = self._authorization(_header(answer, "Proxy-Authenticate") or "", uri)
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        self._request("INVITE", uri, call_id, 2, branch,
                      f"Proxy-Authorization: {authorization}\r\n")
        answer = self._final()
        self._request("ACK", uri, call_id, 2, branch, to=_header(answer, "To"))
        return _status(answer)

    def close(self) -> None:
        self.sock.close()


class Gateway:
    """A carrier gateway that records each INVITE's Request-URI (``invites``) and From
    user (``from_users``), and answers 486."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.invites: queue.Queue[str] = queue.Queue()
        self.from_users: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            message = data.decode(errors="replace")
            first = message.split("\r\n", 1)[0]
            if not first.startswith("INVITE "):
                continue
            from_header = _header(message, "From") or ""
            self.from_users.put(from_header.split("sip:", 1)[-1].split("@", 1)[0])
            self.invites.put(first.split()[1])
            kept = [line for line in message.split("\r\n")[1:]
                    if line.split(":", 1)[0].strip().lower() in ("via", "from", "call-id",
                                                                 "cseq")]
            to = _header(message, "To") or ""
            reply = "\r\n".join(["SIP/2.0 486 Busy Here", *kept, f"To: {to};tag=gw",
                                 "Content-Length: 0", "", ""])
            self.sock.sendto(reply.encode(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
