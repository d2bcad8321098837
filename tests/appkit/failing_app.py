"""A tiny app with both joinedup apps' error plumbing and routes that fail unexpectedly.

Run by ``test_failsafe.py`` as ``uvicorn --factory tests.appkit.failing_app:create_app``.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from appkit.failsafe import install_failsafe
from appkit.logs import configure_logging
from appkit.problems import install_problem_handlers

PERSONAL = "Grace Okafor born 1984-03-17"


def create_app() -> FastAPI:
    configure_logging(json_lines=True)
    app = FastAPI()
    install_problem_handlers(app, bearer_realm="failing-app")

    @app.get("/health")
    def read_health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/boom")
    def boom() -> None:
        raise ValueError(PERSONAL)

    @app.get("/logged")
    def logged() -> dict[str, str]:
        try:
            raise KeyError(PERSONAL)
        except KeyError:
            # A library or a careless handler logging the exception with its traceback.
            logging.getLogger("uvicorn.error").exception("something failed")
            logging.getLogger("joinedup.anything").exception("something failed")
        return {"status": "logged"}

    @app.get("/orphan")
    async def orphan() -> dict[str, str]:
        async def fail() -> None:
            raise RuntimeError(PERSONAL)

        task = asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0)
        del task  # its exception is never retrieved: asyncio logs it when collected
        return {"status": "orphaned"}

    install_failsafe(app)
    return app
