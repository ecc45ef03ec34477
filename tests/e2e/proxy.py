"""Harness of the end-to-end tests: the shipped kamailio.cfg on a real Kamailio, and sipp.

Everything binds to 127.0.0.1. Tests using it carry the ``kamailio`` marker (and
``postgres``: the proxy reads a PostgreSQL database holding the tables that
``routing_export`` writes, see routing_export/README.md).

The proxy
---------
::

    with running_proxy(db_url, tmp_path, fr_timer=1000) as proxy:
        proxy.sip_port                      # UDP SIP port
        proxy.rpc_url                       # http://127.0.0.1:<port>/RPC
        proxy.rpc("drouting.reload")        # {"jsonrpc": "2.0", "result": "reload ok", "id": 1}
        proxy.rpc("htable.reload", "did")   # params as positional arguments
        proxy.log                           # Kamailio's log (stderr) so far

``running_proxy`` starts ``kamailio -f routing_export/kamailio/kamailio.cfg -DD -E`` on
free loopback ports (cfg parameters as ``-A`` defines), waits until SIP answers OPTIONS
and JSON-RPC answers, and stops it with SIGTERM on exit. ``db_url`` may be spelled as
SQLAlchemy spells it (``postgresql+psycopg://...``); it is passed as ``postgres://...``.
``fr_timer`` (ms) is also the failover delay for a gateway that does not answer.

sipp
----
Scenarios are in ``tests/e2e/scenarios/``; pass the file name (or any path). Each
scenario's header says which ``keys`` (``-key name value``, ``[name]`` in the
messages) it reads. The UAC scenarios end with a check of the final response: sipp
exits 0 only when it equals ``expect`` (``-set expect``, 200 unless told; ``None``
is for scenarios without the check). ``SippResult.final_status`` tells what it was,
also when it was not expected, or is none of the statuses the scenarios list (the
usual 2xx-6xx ones; any other aborts the call). Call flows are complete (ACK, and
BYE after ``duration_ms``).

Register a phone whose contact is 127.0.0.1:<phone_port>::

    run_sipp("register.xml", remote_port=proxy.sip_port, local_port=phone_port,
             service="alice", auth=("alice", "secret"),
             keys={"domain": "a.example.test"}, expect=200)        # 401/403 for refusals

Place a call from that phone (service = what is dialled; From user = auth user)::

    run_sipp("phone_invite.xml", remote_port=proxy.sip_port, service="2488700",
             auth=("alice", "secret"), keys={"domain": "a.example.test"}, expect=200)

Call a DID as a carrier gateway (source port = the gateway's, no authentication)::

    run_sipp("carrier_invite.xml", remote_port=proxy.sip_port, local_port=gateway_port,
             service="+12095550100", expect=200)

A gateway, or the registered phone, answering in the background (``uas_answer.xml``
answers 200, ``uas_503.xml`` refuses with 503)::

    with sipp_uas("uas_answer.xml", gateway_port) as gateway:
        run_sipp("phone_invite.xml", ...)
    invite = gateway.result.requests("INVITE")[0]
    invite.request_uri, invite.header("From"), invite.header("P-Asserted-Identity")

A call held up while another is tried (concurrent-call limits)::

    with sipp_background("phone_invite.xml", remote_port=..., service="2488700",
                         auth=(...), keys={...}, duration_ms=3000) as first:
        first.wait_for_status(200)
        run_sipp("phone_invite.xml", ..., expect=486)
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
CFG = REPO / "routing_export" / "kamailio" / "kamailio.cfg"
# Kamailio's memory as shipped (-m shared, -M private per process, in MiB): the same
# figures as the Dockerfile and compose.yaml; routing_export/README.md ("Sizing the
# proxies") says where they come from.
SHM_MB = 4096
PKG_MB = 128
# Kamailio's shared-memory allocator (-x): TLSF holds a routing row in ~20% less than the
# default qm and loads tables about twice as fast (benchmarks/proxy_sizing.py).
MEMORY_MANAGER = "tlsf"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
LOOPBACK = "127.0.0.1"

# Ports are picked below 32768: stock Kamailio schemas make `address.port` a SMALLINT, so a
# gateway port from the kernel's ephemeral range could not be written there.
_PORT_RANGE = (20000, 32767)
_handed_out: set[int] = set()


# Ports ------------------------------------------------------------------------------


def _bindable(port: int, kind: Literal["udp", "tcp"]) -> bool:
    family_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, family_type) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port(kind: Literal["udp", "tcp"] = "udp") -> int:
    """A port of 127.0.0.1 free for ``kind``, never handed out before in this process."""
    for _ in range(1000):
        port = random.randint(*_PORT_RANGE)
        if port not in _handed_out and _bindable(port, kind):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free {kind} port on {LOOPBACK}")


def _free_media_port() -> int:
    """An even UDP port with port + 2 free as well (sipp's RTP echo sockets)."""
    while True:
        port = free_port("udp")
        if port % 2 == 0 and port + 2 <= _PORT_RANGE[1] and _bindable(port + 2, "udp"):
            _handed_out.add(port + 2)
            return port


def _udp_bound(port: int) -> bool:
    """Whether some process has bound 127.0.0.1:<port>/udp (Linux /proc)."""
    wanted = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return not _bindable(port, "udp")
    return any(line.split()[1] == wanted for line in lines if len(line.split()) > 1)


def _tcp_listening(port: int) -> bool:
    """Whether some process listens on 127.0.0.1:<port>/tcp (Linux /proc)."""
    wanted = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return not _bindable(port, "tcp")
    return any(len(fields) > 3 and fields[1] == wanted and fields[3] == "0A"
               for fields in (line.split() for line in lines))


def _wait_until(condition: Callable[[], bool], timeout: float, what: str,
                interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout} s")
        time.sleep(interval)


# The proxy --------------------------------------------------------------------------


def kamailio_db_url(url: str) -> str:
    """``url`` as Kamailio's db_postgres wants it: ``postgres://user[:pw]@host[:port]/db``."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"the proxy database must be PostgreSQL, not {parts.scheme}")
    return urlunsplit(("postgres", parts.netloc, parts.path, "", ""))


def rpc_call(url: str, method: str, *params: object, timeout: float = 5.0) -> dict[str, Any]:
    """One JSON-RPC 2.0 call; the whole answer, ``{"result": ...}`` or ``{"error": ...}``."""
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params:
        request["params"] = list(params)
    http_request = urllib.request.Request(
        url, data=json.dumps(request).encode(), headers={"Content-Type": "application/json"},
        method="POST")
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        # jsonrpcs answers errors (e.g. htable.get of a missing key) with HTTP 500 and
        # a JSON-RPC error object.
        body = error.read()
    answer: dict[str, Any] = json.loads(body.decode())
    return answer


def _sip_answers(port: int) -> bool:
    """Whether the proxy answers an OPTIONS on 127.0.0.1:<port>/udp."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(0.3)
        local_port = sock.getsockname()[1]
        branch = f"z9hG4bK-probe-{time.monotonic_ns()}"
        options = (
            f"OPTIONS sip:{LOOPBACK}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{local_port};branch={branch}\r\n"
            f"From: <sip:probe@{LOOPBACK}>;tag=probe\r\n"
            f"To: <sip:{LOOPBACK}:{port}>\r\n"
            f"Call-ID: {branch}@{LOOPBACK}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(options.encode(), (LOOPBACK, port))
        try:
            reply = sock.recv(65535).decode(errors="replace")
        except OSError:
            return False
    return reply.startswith("SIP/2.0 200")


def _rpc_answers(url: str) -> bool:
    try:
        return "result" in rpc_call(url, "core.version", timeout=0.5)
    except OSError:
        return False


@dataclass
class Proxy:
    """A running Kamailio with the shipped cfg."""

    process: subprocess.Popen[bytes]
    sip_port: int
    rpc_port: int
    log_path: Path

    @property
    def rpc_url(self) -> str:
        return f"http://{LOOPBACK}:{self.rpc_port}/RPC"

    @property
    def log(self) -> str:
        """Everything Kamailio logged so far (stderr, with -E)."""
        return self.log_path.read_text(errors="replace")

    def rpc(self, method: str, *params: object) -> dict[str, Any]:
        """``method`` over JSON-RPC; the whole answer, e.g. ``{"result": "reload ok", ...}``."""
        return rpc_call(self.rpc_url, method, *params)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the process group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@contextmanager
def running_proxy(db_url: str, tmp_path: Path, *, fr_timer: int = 1000,
                  fr_inv_timer: int = 10000, children: int = 2, log_level: int = 2,
                  defines: Mapping[str, str | int] | None = None,
                  shm_mb: int = SHM_MB, pkg_mb: int = PKG_MB,
                  sip_port: int | None = None, rpc_port: int | None = None,
                  memory_manager: str = MEMORY_MANAGER, cfg: Path = CFG,
                  startup_timeout: float = 15.0,
                  options: Sequence[str] = ()) -> Iterator[Proxy]:
    """Kamailio on free loopback ports, reading ``db_url``, stopped on exit.

    ``fr_timer`` / ``fr_inv_timer`` are the transaction timers in ms; ``defines`` adds
    or overrides ``-A NAME=value`` (strings must carry their own double quotes);
    ``shm_mb`` / ``pkg_mb`` are the shared and per-process memory (``-m`` / ``-M``).
    Shared memory is reserved lazily by the kernel: only what Kamailio touches is used.
    ``sip_port`` / ``rpc_port`` restart a proxy where it was (free ports otherwise);
    ``memory_manager`` is Kamailio's ``-x`` (qm, fm, tlsf; as shipped unless told);
    ``cfg`` another configuration (benchmarks compare variants of the shipped one).
    ``options`` are more command-line options.
    """
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    run_dir = tmp_path / "kamailio"
    run_dir.mkdir(parents=True, exist_ok=True)
    sip_port = sip_port or free_port("udp")
    rpc_port = rpc_port or free_port("tcp")
    values: dict[str, str | int] = {
        "DBURL": f'"{kamailio_db_url(db_url)}"',
        "LISTEN_SIP": f"udp:{LOOPBACK}:{sip_port}",
        "LISTEN_RPC": f"tcp:{LOOPBACK}:{rpc_port}",
        "FR_TIMER": fr_timer,
        "FR_INV_TIMER": fr_inv_timer,
        "RUN_DIR": f'"{run_dir.resolve()}"',
        "CHILDREN": children,
        "LOG_LEVEL": log_level,
        **(defines or {}),
    }
    command = [binary, "-f", str(cfg), "-DD", "-E", "-P", str(run_dir / "kamailio.pid"),
               "-x", memory_manager, "-m", str(shm_mb), "-M", str(pkg_mb), *options]
    for name, value in values.items():
        command += ["-A", f"{name}={value}"]
    log_path = run_dir / "kamailio.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    proxy = Proxy(process=process, sip_port=sip_port, rpc_port=rpc_port, log_path=log_path)
    try:
        deadline = time.monotonic() + startup_timeout
        while not (_sip_answers(sip_port) and _rpc_answers(proxy.rpc_url)):
            if process.poll() is not None:
                raise RuntimeError(
                    f"kamailio exited with {process.returncode}:\n{proxy.log[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"kamailio not ready after {startup_timeout} s:\n"
                                   f"{proxy.log[-4000:]}")
            time.sleep(0.05)
        yield proxy
    finally:
        proxy.stop()


# SIP messages as sipp traced them ----------------------------------------------------

_COMPACT = {"f": "from", "t": "to", "v": "via", "m": "contact", "i": "call-id",
            "l": "content-length", "c": "content-type", "k": "supported", "s": "subject"}
_SEPARATOR = re.compile(r"^-{20,}.*$", re.MULTILINE)


@dataclass(frozen=True)
class SipMessage:
    """One SIP message sipp sent or received."""

    direction: Literal["sent", "received"]
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0")

    @property
    def method(self) -> str | None:
        return self.first_line.split()[0] if self.is_request else None

    @property
    def request_uri(self) -> str | None:
        return self.first_line.split()[1] if self.is_request else None

    @property
    def status(self) -> int | None:
        return None if self.is_request else int(self.first_line.split()[1])

    @property
    def cseq_method(self) -> str | None:
        cseq = self.header("CSeq")
        return cseq.split()[-1] if cseq else None

    def headers(self, name: str) -> list[str]:
        """Values of every header ``name`` (case-insensitive, compact forms too)."""
        wanted = name.lower()
        found = []
        for line in self.text.split("\n\n", 1)[0].splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and _COMPACT.get(key.strip().lower(), key.strip().lower()) == wanted:
                found.append(value.strip())
        return found

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, or None."""
        values = self.headers(name)
        return values[0] if values else None


def parse_messages(log: str) -> list[SipMessage]:
    """The messages of a sipp ``-trace_msg`` file, in order."""
    messages = []
    for block in _SEPARATOR.split(log):
        heading, _, body = block.strip("\r\n").partition("\n")
        if "message sent" in heading:
            direction: Literal["sent", "received"] = "sent"
        elif "message received" in heading:
            direction = "received"
        else:
            continue
        text = body.replace("\r\n", "\n").strip("\n")
        if text:
            messages.append(SipMessage(direction=direction, text=text + "\n"))
    return messages


@dataclass(frozen=True)
class SippResult:
    """How a sipp run ended, and the messages it traced (``messages``: the raw log)."""

    returncode: int
    stdout: str
    stderr: str
    messages: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def parsed(self) -> list[SipMessage]:
        return parse_messages(self.messages)

    @property
    def received(self) -> list[SipMessage]:
        return [message for message in self.parsed if message.direction == "received"]

    def requests(self, method: str) -> list[SipMessage]:
        """Requests received with ``method`` (retransmissions included)."""
        return [m for m in self.received if m.is_request and m.method == method.upper()]

    @property
    def final_status(self) -> int | None:
        """The last final (>= 200) response received to an INVITE, REGISTER or MESSAGE."""
        finals = [m.status for m in self.received
                  if not m.is_request and m.cseq_method in {"INVITE", "REGISTER", "MESSAGE"}
                  and (m.status or 0) >= 200]
        return finals[-1] if finals else None

    def describe(self) -> str:
        """A summary for assertion messages."""
        lines = [f"sipp exited {self.returncode}, final status {self.final_status}"]
        lines += [f"  {m.direction:8} {m.first_line}" for m in self.parsed]
        output = (self.stdout + self.stderr).splitlines()
        errors = [line for line in output
                  if "rror" in line or "nexpected" in line or "Aborting" in line]
        if not self.ok and not errors:
            errors = [line for line in output if line.strip()]
        return "\n".join(lines + errors[-10:])


# sipp runs --------------------------------------------------------------------------


def _scenario_path(scenario: str) -> Path:
    path = Path(scenario)
    return path if path.is_absolute() or path.exists() else SCENARIOS / scenario


def sipp_command(scenario: str, *, message_file: Path, local_port: int | None = None,
                 remote_port: int | None = None, ip: str = LOOPBACK,
                 service: str | None = None, auth: tuple[str, str] | None = None,
                 keys: Mapping[str, str] | None = None, expect: int | None = None,
                 duration_ms: int = 0, calls: int = 1, timeout: float = 30.0,
                 extra: Sequence[str] = ()) -> list[str]:
    """The sipp command line: loopback only, one call (``calls``), messages traced."""
    command = [shutil.which("sipp") or "/usr/bin/sipp"]
    if remote_port is not None:
        command.append(f"{ip}:{remote_port}")
    command += [
        "-sf", str(_scenario_path(scenario)),
        "-i", LOOPBACK, "-bind_local", "-ci", LOOPBACK, "-mi", LOOPBACK,
        "-cp", str(free_port("udp")), "-mp", str(_free_media_port()),
        "-m", str(calls), "-nostdin",
        "-p", str(local_port if local_port is not None else free_port("udp")),
        "-trace_msg", "-message_file", str(message_file),
        "-timeout", f"{max(1, round(timeout))}s", "-timeout_error",
        "-d", str(duration_ms),
        # A failed call just ends: no BYE sent for it behind the scenario's back.
        "-default_behaviors", "all,-bye",
    ]
    if service is not None:
        command += ["-s", service]
    values = dict(keys or {})
    if auth is not None:
        user, password = auth
        command += ["-au", user, "-ap", password]
        values.setdefault("user", user)
    if "domain" in values:
        values.setdefault("ruri_domain", values["domain"])
    for name, value in values.items():
        command += ["-key", name, value]
    if expect is not None:
        command += ["-set", "expect", str(expect)]
    return command + list(extra)


def run_sipp(scenario: str, *, remote_port: int, local_port: int | None = None,
             ip: str = LOOPBACK, service: str | None = None,
             auth: tuple[str, str] | None = None, keys: Mapping[str, str] | None = None,
             expect: int | None = 200, duration_ms: int = 0,
             extra: Sequence[str] = (), timeout: float = 30.0) -> SippResult:
    """Runs a UAC scenario to its end (one call) against ``ip:remote_port``.

    ``service`` is the Request-URI user (``-s``), ``auth`` the digest user and password
    (the user is also ``[user]``, the From user), ``keys`` extra ``-key`` values
    (``ruri_domain`` defaults to ``domain``),
    ``expect`` the final status the scenario must end with (``-set expect``).
    """
    with tempfile.TemporaryDirectory(prefix="sipp-") as workdir:
        message_file = Path(workdir) / "messages.log"
        command = sipp_command(
            scenario, message_file=message_file, local_port=local_port,
            remote_port=remote_port, ip=ip, service=service, auth=auth, keys=keys,
            expect=expect, duration_ms=duration_ms, timeout=timeout, extra=extra)
        completed = subprocess.run(
            command, cwd=workdir, capture_output=True, timeout=timeout + 10, check=False,
            stdin=subprocess.DEVNULL)
        messages = message_file.read_text(errors="replace") if message_file.exists() else ""
    return SippResult(returncode=completed.returncode,
                      stdout=completed.stdout.decode(errors="replace"),
                      stderr=completed.stderr.decode(errors="replace"), messages=messages)


@dataclass
class SippProcess:
    """sipp running in the background; ``result`` is set once it has ended."""

    process: subprocess.Popen[bytes]
    workdir: Path
    message_file: Path
    result: SippResult | None = field(default=None)

    @property
    def messages(self) -> str:
        """The messages traced so far (raw ``-trace_msg`` log)."""
        if not self.message_file.exists():
            return ""
        return self.message_file.read_text(errors="replace")

    def received(self) -> list[SipMessage]:
        """The messages received so far."""
        return [m for m in parse_messages(self.messages) if m.direction == "received"]

    def wait_for(self, predicate: Callable[[SipMessage], bool],
                 timeout: float = 10.0) -> SipMessage:
        """The first received message matching ``predicate``, waiting for it."""
        found: list[SipMessage] = []

        def arrived() -> bool:
            found[:] = [m for m in self.received() if predicate(m)]
            return bool(found) or self.process.poll() is not None

        _wait_until(arrived, timeout, "a message in sipp's trace")
        if not found:
            raise AssertionError(f"sipp ended without it:\n{self.finish(0).describe()}")
        return found[0]

    def wait_for_status(self, status: int, timeout: float = 10.0) -> SipMessage:
        """The first response ``status`` received (e.g. 200: the call is up)."""
        return self.wait_for(lambda m: m.status == status, timeout)

    def wait_for_request(self, method: str, timeout: float = 10.0) -> SipMessage:
        """The first request ``method`` received."""
        return self.wait_for(lambda m: m.method == method.upper(), timeout)

    def finish(self, wait: float) -> SippResult:
        """Lets sipp end by itself for ``wait`` s, else stops it; the result."""
        if self.result is not None:
            return self.result
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        stdout = (self.workdir / "stdout").read_text(errors="replace")
        stderr = (self.workdir / "stderr").read_text(errors="replace")
        self.result = SippResult(returncode=self.process.returncode, stdout=stdout,
                                 stderr=stderr, messages=self.messages)
        return self.result


@contextmanager
def _background(command_for: Callable[[Path], list[str]], *, ready: Callable[[], bool],
                wait: float, server: bool) -> Iterator[SippProcess]:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sipp-")))
        message_file = workdir / "messages.log"
        stdout = stack.enter_context((workdir / "stdout").open("wb"))
        stderr = stack.enter_context((workdir / "stderr").open("wb"))
        process = subprocess.Popen(
            command_for(message_file), cwd=workdir, stdin=subprocess.DEVNULL,
            stdout=stdout, stderr=stderr)
        sipp = SippProcess(process=process, workdir=workdir, message_file=message_file)
        try:
            _wait_until(lambda: ready() or process.poll() is not None, 10, "sipp to start")
            if server and process.poll() is not None:
                raise RuntimeError(f"sipp exited at once:\n{sipp.finish(0).describe()}")
            yield sipp
        finally:
            sipp.finish(wait)


@contextmanager
def sipp_uas(scenario: str, port: int, *, keys: Mapping[str, str] | None = None,
             calls: int = 1, extra: Sequence[str] = (), timeout: float = 30.0,
             wait: float = 5.0, tcp: bool = False) -> Iterator[SippProcess]:
    """A sipp server on 127.0.0.1:<port>/udp (``tcp``: /tcp) (a gateway, a registered
    phone) for ``calls`` calls. Ready when yielded; on exit it gets ``wait`` s to finish
    its calls, then is stopped. What it received: ``.received()`` any time, ``.result``
    after the block.
    """

    def command_for(message_file: Path) -> list[str]:
        return sipp_command(scenario, message_file=message_file, local_port=port,
                            keys=keys, calls=calls, timeout=timeout,
                            extra=[*extra, *(["-t", "t1"] if tcp else [])])

    ready = (lambda: _tcp_listening(port)) if tcp else (lambda: _udp_bound(port))
    with _background(command_for, ready=ready, wait=wait, server=True) as sipp:
        yield sipp


@contextmanager
def sipp_background(scenario: str, *, remote_port: int, local_port: int | None = None,
                    ip: str = LOOPBACK, service: str | None = None,
                    auth: tuple[str, str] | None = None,
                    keys: Mapping[str, str] | None = None, expect: int | None = 200,
                    duration_ms: int = 0, extra: Sequence[str] = (),
                    timeout: float = 30.0) -> Iterator[SippProcess]:
    """``run_sipp`` in the background (e.g. a call held up for ``duration_ms``); on exit
    waits for it to end (at most ``timeout`` s). Its outcome: ``.result``.
    """
    port = local_port if local_port is not None else free_port("udp")

    def command_for(message_file: Path) -> list[str]:
        return sipp_command(scenario, message_file=message_file, local_port=port,
                            remote_port=remote_port, ip=ip, service=service, auth=auth,
                            keys=keys, expect=expect, duration_ms=duration_ms,
                            timeout=timeout, extra=extra)

    with _background(command_for, ready=lambda: _udp_bound(port), wait=timeout,
                     server=False) as sipp:
        yield sipp
