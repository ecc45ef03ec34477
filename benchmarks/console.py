"""The web console's first screen: JavaScript size and time to interactive.

    .venv/bin/python benchmarks/console.py [--runs 7]

Needs the console built (`cd web && npm ci && npm run build`, or `./dev serve` once)
and Debian's Chromium. Prints:
- size: the JavaScript and CSS the first screen loads (index.html's entry script and
  the chunks it preloads; the screens behind the login load later), raw and gzipped,
  against the goal of 300 KB of JavaScript gzipped;
- time to interactive: in Chromium against `wehostvoip serve` on the embedded default
  (fresh SQLite database, in-process broker), from navigation start until the login
  form is on screen and the session check has answered, median of the runs, each in
  a fresh browser context; and the same measure for the server's smallest page
  (/healthz) as the baseline, with the ratio between the two (goal: under 1 s).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
JS_GOAL_BYTES = 300 * 1024
TTI_GOAL_MS = 1000.0


def first_screen_files(dist: Path) -> list[Path]:
    """The files index.html makes the browser load before the first screen shows."""
    html = (dist / "index.html").read_text()
    references = re.findall(r'(?:src|href)="/(assets/[^"]+\.(?:js|css))"', html)
    return [dist / reference for reference in dict.fromkeys(references)]


def sizes(files: list[Path]) -> dict[str, tuple[int, int]]:
    """Raw and gzipped (level 6, what a reverse proxy typically sends) bytes by kind."""
    totals: dict[str, tuple[int, int]] = {}
    for path in files:
        data = path.read_bytes()
        kind = path.suffix.lstrip(".")
        raw, packed = totals.get(kind, (0, 0))
        totals[kind] = (raw + len(data), packed + len(gzip.compress(data, compresslevel=6)))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        sys.exit("benchmarks/console.py: build the console first: "
                 "cd web && npm ci && npm run build")

    files = first_screen_files(DIST)
    totals = sizes(files)
    js_raw, js_gzip = totals.get("js", (0, 0))
    css_raw, css_gzip = totals.get("css", (0, 0))
    print(f"first screen: {len(files)} files ({', '.join(path.name for path in files)})")
    print(f"  JavaScript {js_raw / 1024:7.1f} KB raw {js_gzip / 1024:7.1f} KB gzipped"
          f"   ratio to the 300 KB goal: {js_gzip / JS_GOAL_BYTES:.2f}")
    print(f"  CSS        {css_raw / 1024:7.1f} KB raw {css_gzip / 1024:7.1f} KB gzipped")

    timing = subprocess.run(
        ["node", str(ROOT / "web" / "e2e" / "first-screen.mjs"), str(args.runs)],
        check=True, capture_output=True, text=True,
    )
    result = json.loads(timing.stdout.strip().splitlines()[-1])
    console_ms, baseline_ms = result["console_ms"], result["baseline_ms"]
    print(f"time to interactive (median of {result['runs']}, fresh context each):")
    print(f"  console login screen {console_ms:7.1f} ms   (goal {TTI_GOAL_MS:.0f} ms: "
          f"ratio {console_ms / TTI_GOAL_MS:.2f})")
    print(f"  baseline /healthz    {baseline_ms:7.1f} ms   console / baseline: "
          f"{console_ms / baseline_ms:.1f}x")
    print(f"  all runs: {', '.join(f'{value:.0f}' for value in result['console_all'])} ms")


if __name__ == "__main__":
    main()
