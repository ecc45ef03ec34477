"""Running the platform self-test job."""

from __future__ import annotations

import time

from core.selftest import SELFTEST
from workers.jobs import JobRun, handles


@handles(SELFTEST.kind)
def run_selftest(job: JobRun) -> str:
    steps = int(job.payload.get("steps", 0))
    step_seconds = float(job.payload.get("step_seconds", 0))
    if steps == 0:
        return "ok"  # the no-op job: what is left is the machinery's own cost
    job.progress(0, steps)
    for step in range(1, steps + 1):
        time.sleep(step_seconds)
        job.progress(step, steps)
    return "ok"
