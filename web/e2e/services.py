"""The outside world of the end-to-end test, run as a child of the Node test: the
project's own wire-level fakes, each a real server on loopback:

- an SMTP server (tests/mailbox.py) that keeps the e-mails the product sends;
- an authoritative DNS server (tests/dns_server.py) serving the TXT records the test
  publishes, so domain verification really looks them up;
- Google's OAuth and Directory API (tests/fakes/google.py) for the domain
  ``acme.example.com``, with three users.

It prints one JSON line with the SMTP port and the settings that point the service at
the fakes, then one JSON line per e-mail received: {"to": [...], "subject", "links"}.
Commands come one JSON object a line on standard input ({"txt": [name, value]});
it stops when its standard input closes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.dns_server import DnsServer
from tests.fakes.google import FakeGoogle
from tests.mailbox import Mailbox, links, recipients

DIRECTORY_DOMAIN = "acme.example.com"


def main() -> None:
    box = Mailbox()
    box.start()
    dns = DnsServer()
    dns.start()
    google = FakeGoogle(domain=DIRECTORY_DOMAIN)
    google.start()
    for given, family in (("Ann", "Archer"), ("Ben", "Baker"), ("Cyd", "Cole")):
        google.add_user(f"{given.lower()}@{DIRECTORY_DOMAIN}", given_name=given, family_name=family)
    settings = {**dns.settings(), **google.settings_values()}
    print(json.dumps({"smtp_port": box.port, "settings": settings, "google": google.auth_uri}),
          flush=True)

    stop = threading.Event()

    def commands() -> None:
        for line in sys.stdin:
            command = json.loads(line)
            if "txt" in command:
                name, value = command["txt"]
                dns.set_txt(name, [value])
                print(json.dumps({"done": "txt"}), flush=True)
        stop.set()

    threading.Thread(target=commands, daemon=True).start()
    reported = 0
    while not stop.is_set():
        messages = box.messages
        for message in messages[reported:]:
            line = {
                "to": sorted(recipients(message)),
                "subject": message["Subject"],
                "links": links(message),
            }
            print(json.dumps(line), flush=True)
        reported = len(messages)
        time.sleep(0.1)
    google.stop()
    dns.stop()
    box.stop()


if __name__ == "__main__":
    main()
