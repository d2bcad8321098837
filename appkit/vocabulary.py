"""The federation vocabulary an app validates against, put in force for its requests.

Both apps load their vocabulary once from their policy directory (the packaged
bundle, or the operator's ``POLICY_DIR`` copy) and keep it as
``app.state.vocabulary``. ``VocabularyMiddleware`` runs every request *and the
lifespan* (whose background tasks inherit it) inside
``federation.vocabulary.vocabulary_in_force``, so the pydantic types
``CategoryId``, ``PurposeId``, ... check request bodies against the app's own
vocabulary rather than a list in code. A pure ASGI middleware: it wraps whatever
scope comes through and changes nothing else.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from federation.vocabulary import Vocabulary, vocabulary_in_force

__all__ = ["VocabularyMiddleware", "install_vocabulary"]


class VocabularyMiddleware:
    """Run the wrapped app with ``vocabulary`` in force."""

    def __init__(self, app: ASGIApp, vocabulary: Vocabulary) -> None:
        self.app = app
        self.vocabulary = vocabulary

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with vocabulary_in_force(self.vocabulary):
            await self.app(scope, receive, send)


def install_vocabulary(app: FastAPI, vocabulary: Vocabulary) -> None:
    """Keep ``vocabulary`` as ``app.state.vocabulary`` and validate against it."""
    app.state.vocabulary = vocabulary
    app.add_middleware(VocabularyMiddleware, vocabulary=vocabulary)
