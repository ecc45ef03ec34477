"""Secrets at rest: encrypted with the newest key, readable with any configured one."""

from __future__ import annotations

import pytest

from core.secrets import SecretBox, SecretDecryptionError

OLD, NEW = b"o" * 32, b"n" * 32


def test_round_trip_and_ciphertext_hides_the_value():
    box = SecretBox([NEW])
    token = box.encrypt("sip-password-123")
    assert "sip-password-123" not in token
    assert box.decrypt(token) == "sip-password-123"
    assert box.encrypt("same") != box.encrypt("same")  # random IV per value


def test_rotation_reads_old_values_and_writes_with_the_newest_key():
    old_token = SecretBox([OLD]).encrypt("refresh-token")
    rotated_box = SecretBox([NEW, OLD])
    assert rotated_box.decrypt(old_token) == "refresh-token"
    new_token = rotated_box.rotate(old_token)
    assert SecretBox([NEW]).decrypt(new_token) == "refresh-token"
    with pytest.raises(SecretDecryptionError):
        SecretBox([OLD]).decrypt(new_token)


def test_unknown_key_or_garbage_is_a_clear_error():
    token = SecretBox([OLD]).encrypt("x")
    with pytest.raises(SecretDecryptionError):
        SecretBox([NEW]).decrypt(token)
    with pytest.raises(SecretDecryptionError):
        SecretBox([NEW]).decrypt("not-a-token")


def test_needs_a_key():
    with pytest.raises(ValueError, match="at least one secret key"):
        SecretBox([])
