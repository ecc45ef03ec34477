"""The texts of the e-mails the platform sends (plain text, one function each)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def signup_link(link: str, valid_hours: int) -> Message:
    return Message(
        subject="Create your WeHostVoIP ISP",
        body=(
            "Someone (hopefully you) asked to create an ISP on WeHostVoIP with this address.\n\n"
            f"Open this link to continue; it works once and for {valid_hours} hours:\n\n"
            f"{link}\n\n"
            "If you did not ask for this, ignore this message.\n"
        ),
    )


def already_registered(login_link: str) -> Message:
    return Message(
        subject="Your WeHostVoIP account",
        body=(
            "Someone asked to create an ISP on WeHostVoIP with this address, but it already\n"
            "belongs to an account. Log in here instead:\n\n"
            f"{login_link}\n\n"
            "If you did not ask for this, ignore this message.\n"
        ),
    )


def invitation(inviter: str, scope_name: str, role: str, link: str, valid_days: int) -> Message:
    return Message(
        subject=f"You are invited to administer {scope_name} on WeHostVoIP",
        body=(
            f"{inviter} invites you to join {scope_name} on WeHostVoIP as {role.lower()}.\n\n"
            f"Open this link to accept; it works once and for {valid_days} days:\n\n"
            f"{link}\n"
        ),
    )
