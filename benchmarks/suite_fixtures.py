"""What the set-up of a GraphQL test with a signed-up ISP costs, the old way and now.

    .venv/bin/python benchmarks/suite_fixtures.py [--rounds 20]

Most of the suite's tests start with an app on a fresh SQLite database and an
ISP signed up through GraphQL (the ``isp_a`` fixture). Measured here, in one
process and alternating so that both see the same machine:

- before: each app converts the GraphQL schema anew, and the ISP is signed up
  through GraphQL with the production argon2id cost (what every such test did);
- now: the app copies the schema converted once per process, and the database
  is a copy of a template in which the ISP was signed up once, with the
  owner's session cookie (``tests/schema/conftest.py``).

Prints the median and p90 of each in milliseconds, and before / now.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from core import migrations, passwords  # noqa: E402
from core.database import make_sync_engine  # noqa: E402
from core.logs import configure_logging  # noqa: E402
from schema import _converted_schema  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.graphql import sign_up  # noqa: E402
from tests.schema.conftest import SignedUpTemplates, _signed_up  # noqa: E402


async def before(template: Path, work: Path) -> float:
    started = time.perf_counter()
    path = work / "before.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    _converted_schema.cache_clear()  # every app converted the schema
    app = create_app(make_settings(url, work, password_hash_cost="standard"))
    engine = make_sync_engine(url)
    async with LifespanManager(app):
        signed = await sign_up(app, engine, label="alpha")
        assert (await signed.client.execute("{ me { email } }"))["me"]
        elapsed = time.perf_counter() - started
        await signed.client.close()
    engine.dispose()
    return elapsed


async def now(templates: SignedUpTemplates, work: Path) -> float:
    from sqlalchemy import update

    from core.models import AuthSession, utcnow

    started = time.perf_counter()
    seeded, records = templates.get(("alpha",))
    path = work / "now.db"
    shutil.copyfile(seeded, path)
    url = f"sqlite:///{path}"
    engine = make_sync_engine(url)
    with engine.begin() as connection:  # as the fixture does
        connection.execute(update(AuthSession).values(last_seen_at=utcnow()))
    app = create_app(make_settings(url, work))
    async with LifespanManager(app):
        signed = await _signed_up("alpha", app, engine, records)
        assert (await signed.client.execute("{ me { email } }"))["me"]
        elapsed = time.perf_counter() - started
        await signed.client.close()
    engine.dispose()
    return elapsed


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.9 * (len(ordered) - 1))] * 1000


async def main(rounds: int) -> None:
    configure_logging("WARNING", "text")
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        template = work / "template.db"
        engine = make_sync_engine(f"sqlite:///{template}")
        migrations.upgrade(engine)
        engine.dispose()
        templates = SignedUpTemplates(str(template), work)
        templates.get(("alpha",))  # made once per run, as in the suite
        old: list[float] = []
        new: list[float] = []
        for _ in range(rounds):
            old.append(await before(template, work))
            new.append(await now(templates, work))
    passwords.use_cost(passwords.PasswordHashCost.STANDARD)
    old_median, old_p90 = _summary(old)
    new_median, new_p90 = _summary(new)
    print(f"set-up of a test with a signed-up ISP, {rounds} rounds each, alternating")
    print(f"  before: median {old_median:7.1f} ms   p90 {old_p90:7.1f} ms")
    print(f"  now:    median {new_median:7.1f} ms   p90 {new_p90:7.1f} ms")
    print(f"  before / now (median): {old_median / new_median:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
