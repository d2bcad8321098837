"""Auditor pages: browse, filter, export and verify this node's audit log (placeholder)."""

from __future__ import annotations

from fastapi import APIRouter

from node.web.pages import HtmlRoute

router = APIRouter(route_class=HtmlRoute)
