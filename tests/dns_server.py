"""An authoritative DNS server on loopback that serves the TXT records a test sets.

Domain verification is tested against real DNS over UDP: this server (dnspython
messages, a ``socketserver`` in a thread of its own) answers from a zone the
test changes while it runs, and can stop answering (a resolver timeout) or
answer SERVFAIL. Point the settings at it with :meth:`DnsServer.settings`::

    with DnsServer() as dns:
        dns.set_txt("_wehostvoip-challenge.example.com", ["wehostvoip-verify=..."])
        settings = make_settings(url, tmp_path, **dns.settings())
"""

from __future__ import annotations

import socketserver
import threading
from enum import StrEnum
from types import TracebackType
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

HOST = "127.0.0.1"
TTL = 60
# Long values are split into character-strings of at most 255 bytes (RFC 1035, 3.3).
MAX_STRING = 255


class Mode(StrEnum):
    ANSWER = "ANSWER"
    DROP = "DROP"  # read queries and say nothing: the resolver times out
    SERVFAIL = "SERVFAIL"


Record = str | list[str]


def _txt(record: Record) -> dns.rdtypes.ANY.TXT.TXT:
    """One TXT record; a list gives its character-strings one by one."""
    strings = [record] if isinstance(record, str) else record
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT,
                                   [text.encode() for text in strings])


class _Handler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.owner.answer(data)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, owner: DnsServer) -> None:
        super().__init__((HOST, 0), _Handler)
        self.owner = owner


class DnsServer:
    """Authoritative for whatever names the test sets; every other name is NXDOMAIN."""

    def __init__(self) -> None:
        self.mode = Mode.ANSWER
        self.queries: list[str] = []
        self._zone: dict[dns.name.Name, list[Record]] = {}
        self._lock = threading.Lock()
        self._server: _UdpServer | None = None
        self._thread: threading.Thread | None = None

    # The zone ---------------------------------------------------------------

    def set_txt(self, name: str, records: list[Record]) -> None:
        """Serve ``records`` as the TXT records of ``name``; an empty list makes the name
        exist without TXT records (NOERROR, no answer)."""
        with self._lock:
            self._zone[dns.name.from_text(name)] = list(records)

    def remove(self, name: str) -> None:
        with self._lock:
            self._zone.pop(dns.name.from_text(name), None)

    # Answering --------------------------------------------------------------

    def answer(self, data: bytes) -> bytes | None:
        """The wire reply to one query, or None to stay silent."""
        query = dns.message.from_wire(data)
        question = query.question[0]
        with self._lock:
            self.queries.append(question.name.to_text(omit_final_dot=True))
            records = self._zone.get(question.name)
            mode = self.mode
        if mode is Mode.DROP:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if mode is Mode.SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT and records:
            rdatas = [_txt(record) for record in records]
            response.answer.append(dns.rrset.from_rdata_list(question.name, TTL, rdatas))
        return response.to_wire()

    # Lifecycle --------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return self._server.server_address[1]

    def settings(self) -> dict[str, Any]:
        """Settings overrides that make domain checks ask this server, with a short timeout."""
        return {"dns_resolvers": f"{HOST}:{self.port}", "dns_timeout_seconds": 1}

    def start(self) -> None:
        self._server = _UdpServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="dns-server")
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DnsServer:
        self.start()
        return self

    def __exit__(self, _type: type[BaseException] | None, _value: BaseException | None,
                 _traceback: TracebackType | None) -> None:
        self.stop()
