"""An address and a contact person, as ISPs and customers both have them."""

from __future__ import annotations

import strawberry


@strawberry.type
class PostalAddress:
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, or empty.")


@strawberry.type
class Contact:
    name: str
    email: str
    phone: str = strawberry.field(description="E.164 with +, or empty.")


@strawberry.input
class PostalAddressInput:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = strawberry.field(default="", description="ISO 3166-1 alpha-2.")


@strawberry.input
class ContactInput:
    name: str = ""
    email: str = ""
    phone: str = strawberry.field(default="", description="E.164 with +.")
