"""Dependencies for the records API: paging, the vocabulary and the linkage key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from federation.linkage import LinkageKey
from federation.vocabulary import Vocabulary

MAX_LIMIT = 100
DEFAULT_LIMIT = 50


class Page(BaseModel):
    offset: int
    limit: int


async def page(
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Rows to return (max {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
) -> Page:
    """Offset/limit paging with a hard maximum page size."""
    return Page(offset=offset, limit=limit)


async def vocabulary(request: Request) -> Vocabulary:
    return request.app.state.vocabulary  # type: ignore[no-any-return]


async def linkage_key(request: Request) -> LinkageKey | None:
    return request.app.state.settings.linkage  # type: ignore[no-any-return]


PageDep = Annotated[Page, Depends(page)]
VocabularyDep = Annotated[Vocabulary, Depends(vocabulary)]
LinkageKeyDep = Annotated[LinkageKey | None, Depends(linkage_key)]
