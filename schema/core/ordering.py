"""Sort direction shared by every list's orderBy argument."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
