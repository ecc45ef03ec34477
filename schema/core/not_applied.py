"""The label of settings the API stores but the SIP proxies do not apply yet.

Every such field says so in its description (and README.md lists them), so that no
field looks live when it is not. When the proxies start applying one, its label goes.
"""

NOT_APPLIED = "Stored for a later release: the SIP proxies do not apply it yet."


def not_applied(description: str = "") -> str:
    """``description`` followed by the label."""
    return f"{description} {NOT_APPLIED}".strip()
