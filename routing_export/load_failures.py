"""Why a proxy failed to load a table, in words an operator can act on.

Kamailio answers a failed reload with a bare message ("Htable reload failed",
"failed to load routing data") and writes the reason to its own log only. The
usual reason at platform scale is shared memory: an ``htable.reload`` builds the
new table beside the old one, so it needs free shared memory for a second copy of
the table, and ``ht_cell_new(): no more shm`` ends it. So after a failed reload
the proxy's shared memory is read back (``core.shmmem``) and the message says
whether it ran out, with the figures and what to do (``-m``, see
routing_export/README.md, "Sizing the proxies").
"""

from __future__ import annotations

from typing import Any

from routing_export.rpc import ProxyClient, ReloadError

MIB = 1024 * 1024
# Less free than this, or a peak this close to the total: an allocation failed there.
EXHAUSTED_FRACTION = 0.05


def _exhausted(memory: dict[str, Any]) -> bool:
    total = int(memory.get("total", 0))
    if total <= 0:
        return False
    margin = total * EXHAUSTED_FRACTION
    return (int(memory.get("free", total)) < margin
            or int(memory.get("max_used", 0)) > total - margin)


def explain(client: ProxyClient, call: str, error: ReloadError) -> str:
    """``error`` of ``call`` (e.g. ``htable.reload(did)``) with the proxy's shared memory.

    A transport failure (no answer, or none in time), or a proxy that does not answer
    ``core.shmmem`` either, gets the error alone.
    """
    method = call.split("(", 1)[0]
    reason = str(error).removeprefix(f"{method}:").strip()
    message = f"{call}: {reason}"
    if error.__cause__ is not None:
        # Unreachable, or no answer in time: Kamailio said nothing about the table.
        return message
    try:
        memory = client.call("core.shmmem")
    except ReloadError:
        return message
    if not isinstance(memory, dict):
        return message
    free, total = int(memory.get("free", 0)) // MIB, int(memory.get("total", 0)) // MIB
    peak = int(memory.get("max_used", 0)) // MIB
    if _exhausted(memory):
        # "now": a failed htable.reload has freed the half-built table again.
        return (f"{message}: out of shared memory (now {free} MiB free of {total} MiB, "
                f"peak {peak} MiB); start Kamailio with a larger -m "
                "(routing_export/README.md, Sizing the proxies)")
    return f"{message} (shared memory: {free} MiB free of {total} MiB; Kamailio's log says why)"
