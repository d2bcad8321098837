"""Linkage tokens: keyed hashes of normalised identifiers (DESIGN "Identity and linkage").

Nodes never send names, dates of birth or national numbers to each other. Instead
each computes HMAC-SHA256 under the federation's linkage key over a normalised
identifier and compares tokens. The key is versioned so it can be rotated: a token
is ``v{version}.{kind}.{hex}`` and only tokens of the same version are compared.

Two kinds of token are made per person:
- ``nn``: the national number (digits only), when known;
- ``dem``: family name + given name + date of birth + postcode.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_NON_ALNUM = re.compile(r"[^0-9a-z]")
_NON_DIGIT = re.compile(r"[^0-9]")


@dataclass(frozen=True)
class LinkageKey:
    """One version of the federation's linkage key (a secret shared by members)."""

    version: int
    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("linkage key must be at least 16 bytes")


def normalise_name(name: str) -> str:
    """Fold case and accents; drop spaces, hyphens, apostrophes ("O'Brien" -> "obrien")."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", stripped.casefold())


def normalise_postcode(postcode: str) -> str:
    return _NON_ALNUM.sub("", postcode.casefold())


def normalise_national_number(number: str) -> str:
    return _NON_DIGIT.sub("", number)


def _token(key: LinkageKey, kind: str, material: str) -> str:
    digest = hmac.new(key.secret, f"{kind}|{material}".encode(), hashlib.sha256).hexdigest()
    return f"v{key.version}.{kind}.{digest}"


def linkage_tokens(
    *,
    key: LinkageKey,
    family_name: str,
    given_name: str,
    date_of_birth: date,
    postcode: str | None = None,
    national_number: str | None = None,
) -> list[str]:
    """All linkage tokens for one person under ``key``; empty parts make no token."""
    tokens: list[str] = []
    if national_number and normalise_national_number(national_number):
        tokens.append(_token(key, "nn", normalise_national_number(national_number)))
    family, given = normalise_name(family_name), normalise_name(given_name)
    code = normalise_postcode(postcode or "")
    if family and given and code:
        tokens.append(_token(key, "dem", f"{family}|{given}|{date_of_birth.isoformat()}|{code}"))
    return tokens


def token_version(token: str) -> int | None:
    """The key version a token was made with, or None if it is not a linkage token."""
    head, _, _ = token.partition(".")
    if not head.startswith("v") or not head[1:].isdigit():
        return None
    return int(head[1:])


def token_kind(token: str) -> str | None:
    parts = token.split(".")
    return parts[1] if len(parts) == 3 else None
