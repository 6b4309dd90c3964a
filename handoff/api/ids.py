"""Integer identifiers as the API accepts them: every id and sequence number is stored in a 32-bit
INTEGER column, so larger values are refused with a 422 before they reach the database (where they
would overflow into a 500 on PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_DB_INT = 2**31 - 1

BodyId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
PathId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
AfterSeq = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="return messages with seq greater than this")]
