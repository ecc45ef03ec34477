"""What the platform tells people about their verified domains: e-mails and check results."""

from __future__ import annotations

from core.dns_check import CheckOutcome, DnsCheck
from core.messages import Message


def domain_lapsed(fqdn: str, isp_name: str, record_name: str, record_value: str) -> Message:
    return Message(
        subject=f"{fqdn} is no longer verified on WeHostVoIP",
        body=(
            f"The verification record of {fqdn}, a verified domain of {isp_name}, is no\n"
            "longer published in DNS. The domain is flagged as lapsed: it is kept, and\n"
            "tenants already using it keep working, but it cannot be given to another\n"
            "tenant nor carry directory synchronisation until the record is back.\n\n"
            "Publish this TXT record again:\n\n"
            f"  Name:  {record_name}\n"
            f"  Value: {record_value}\n\n"
            "The platform checks again periodically, and the domain becomes verified\n"
            "as soon as the record is found.\n"
        ),
    )


def check_summary(check: DnsCheck, record_name: str) -> str:
    """One sentence for the person who asked for a check."""
    return {
        CheckOutcome.VERIFIED: f"The TXT record {record_name} holds the expected value.",
        CheckOutcome.NOT_FOUND: f"There is no TXT record {record_name} yet; DNS changes can "
                                "take up to an hour to be seen.",
        CheckOutcome.WRONG_VALUE: f"The TXT records at {record_name} do not hold the expected "
                                  "value; publish it exactly as shown.",
        CheckOutcome.UNREACHABLE: f"DNS could not be asked ({check.reason}); nothing changed, "
                                  "try again later.",
    }[check.outcome]
