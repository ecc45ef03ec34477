"""The end-to-end test's SMTP server: the project's test mailbox (tests/mailbox.py), a real
SMTP server on loopback, run as a child of the Node test. It prints one JSON line with its
port, then one JSON line per message received: {"to": [...], "subject": ..., "links": [...]}.
It stops when its standard input closes."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.mailbox import Mailbox, links, recipients


def main() -> None:
    box = Mailbox()
    box.start()
    print(json.dumps({"port": box.port}), flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
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
    box.stop()


if __name__ == "__main__":
    main()
