"""gateway number format: strip and prefix apply to the E.164 digits, literally

Until now a gateway's strip counted digits of the E.164 number with the "+" going
along with any stripped digit, and with strip 0 the number kept its "+": the prefix
was put before "+<digits>". Now the number handed to a gateway is always
``prefix + digits[strip:]``, digits being the E.164 number without "+"; a gateway
that wants the "+" says so with the prefix "+" (the product's rule: "strip X
digits ... add the following numbers before the number").

What each gateway sends after this migration:
- strip > 0: exactly what it sent before (it already got digits only).
- strip 0, no prefix: it sent "+<digits>"; its prefix becomes "+", so it still does.
- strip 0 with a prefix P: it sent "P+<digits>" (a "+" in the middle, which no carrier
  reads as intended); it now sends "P<digits>", e.g. "00" + 442079460000. Check such
  gateways with the carrier if they were used.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE gateway SET prefix = '+' WHERE strip = 0 AND prefix = ''")


def downgrade() -> None:
    # The old reading of strip 0 put the "+" back by itself.
    op.execute("UPDATE gateway SET prefix = '' WHERE strip = 0 AND prefix = '+'")
