"""Subscriber PINs (voicemail and the like): 4 to 12 digits, stored as argon2id hashes.

A PIN has at most 10^12 values, most of them 10^4 to 10^6: no work factor a
request can afford stops an offline search of that space, and the full
password parameters (~0.2 s and 64 MiB a hash) only made a bulk create of a
thousand subscribers take minutes. So PINs get argon2id with parameters fit
for a short numeric secret: one pass over 1 MiB (about a millisecond), with
its own salt. What protects a PIN is that its hash stays in the control
plane's database (it is never exported, never shown) and that whatever checks
a PIN limits the attempts: the control plane itself checks none.

The hashes are standard argon2 strings that carry their parameters, so
``core.passwords.verify_password`` verifies old and new ones alike.
"""

from __future__ import annotations

from argon2 import PasswordHasher

_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


__all__ = ["hash_pin"]
