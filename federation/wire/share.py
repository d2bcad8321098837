"""The share exchange's signed actions: ``share`` and ``link``.

Their models are the bodies the holder has always validated,
``federation.share_schema.ShareRequestBody`` and ``LinkRequestBody`` (defined there
beside the sealed answers and the vocabulary slugs they use); this module names
them as wire messages.
"""

from __future__ import annotations

from federation.share_schema import LinkRequestBody, ShareRequestBody

ShareRequest = ShareRequestBody
LinkRequest = LinkRequestBody

__all__ = ["LinkRequest", "ShareRequest"]
