"""Hand a policy input to rego-cpp quickly and exactly.

regopy's own ``Input(value)`` walks the value through one Python wrapper per
rego-cpp C call (``regoInputString``, ``regoInputObject``, ...); for a share input
with ten consent provisions that walk costs more than a quarter of a decision.
``to_rego_input`` makes the same C calls directly (about half the time) and
mends two ways in which regopy's conversion is unsafe:

- rego-cpp 1.5.2 writes strings into its JSON result without escaping them, so
  a policy that echoes an input string holding ``"`` or ``\\`` can be made to
  emit decision JSON of the sender's choosing (``'x","allow":true,...'``), and a
  control character breaks the result. Each such character is replaced one for
  one before the string reaches the policy: ``"`` by U+FF02, ``\\`` by U+FF3C, tab,
  newline, carriage return, vertical tab and form feed by a space, any other
  control character (NUL included, which the C string API would silently cut the
  string at) by U+FFFD. Lengths and whitespace are kept, so ``count`` and
  ``trim_space`` give what they would have; the policies compare strings only
  with vocabulary slugs, which never hold these characters.
- integers outside int64, which ``regoInputInt`` silently wraps, raise
  ``NotDirectlyConvertible``; the caller then passes ``rego_safe_json`` text
  through ``set_input_term``, which rego-cpp parses exactly.

This uses ``regopy.rego_shared.rego``, the ctypes handle regopy itself calls, whose
C signatures are regopy 1.5.2's (pinned); ``tests/node/policy/test_rego_input.py``
checks the result against regopy's own conversion.
"""

from __future__ import annotations

import json
import re
from typing import Any

from regopy import Input
from regopy import rego_shared as _shared

__all__ = [
    "NotDirectlyConvertible",
    "rego_safe_json",
    "rego_safe_json_text",
    "rego_safe_text",
    "to_rego_input",
]

_C = _shared.rego
_OK = int(_shared.Code.OK)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


_UNSAFE = re.compile(r'[\x00-\x1f"\\]')
_REPLACEMENT = {chr(c): "\ufffd" for c in range(0x20)} | {
    "\t": " ",
    "\n": " ",
    "\r": " ",
    "\v": " ",
    "\f": " ",
    '"': "\uff02",
    "\\": "\uff3c",
}


def rego_safe_text(text: str) -> str:
    """``text`` with the characters rego-cpp cannot echo safely replaced (see above)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda match: _REPLACEMENT[match.group()], text)


def _safe_value(value: Any) -> Any:
    if isinstance(value, str):
        return rego_safe_text(value)
    if isinstance(value, dict):
        return {rego_safe_text(str(k)): _safe_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe_value(item) for item in value]
    return value


def rego_safe_json(value: Any) -> str:
    """JSON text of ``value`` with every string made safe, for ``set_input_term``."""
    return json.dumps(_safe_value(value), allow_nan=False)


# JSON escapes as json.dumps writes them; the backslash pair comes first so that
# an escaped backslash followed by "u0022" is read as the two escapes it is.
_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_ESCAPE_REPLACEMENT = {
    '"': "\\uff02",
    "\\": "\\uff3c",
    "t": " ",
    "n": " ",
    "r": " ",
    "f": " ",
    "b": "\\ufffd",
}


def _safe_escape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape in _ESCAPE_REPLACEMENT:
        return _ESCAPE_REPLACEMENT[escape]
    if escape[0] != "u" or int(escape[1:], 16) >= 0x20:
        return match.group()
    return " " if int(escape[1:], 16) in (0x09, 0x0A, 0x0B, 0x0C, 0x0D) else "\\ufffd"


def rego_safe_json_text(text: str) -> str:
    """``text`` (JSON as ``json.dumps`` writes it) with every string made safe.

    Gives what ``rego_safe_json`` gives for the parsed value, without parsing:
    every character ``rego_safe_text`` replaces is escaped in such text, so one
    pass over the escapes is enough. The regorus engine feeds its input through
    this so that both embedded engines see, and decide on, the same strings.
    """
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_safe_escape, text)


class NotDirectlyConvertible(ValueError):
    """The value holds something the C input API would not carry exactly."""


class _DirectInput(Input):  # type: ignore[misc]  # regopy ships no type hints
    # Input.__init__ would convert again; this wraps a pointer already built.
    # Input.__del__ frees it through rego_free_input, as for any regopy Input.
    def __init__(self, impl: Any) -> None:
        self._impl = impl


def _add(handle: Any, value: Any) -> int:
    """Append ``value`` to the input under construction; return OR of C result codes."""
    kind = type(value)
    if kind is str:
        return int(_C.regoInputString(handle, rego_safe_text(value).encode("utf-8")))
    if kind is dict:
        code = 0
        for key, item in value.items():
            if type(key) is not str:
                raise NotDirectlyConvertible("object key is not a string")
            code |= _add(handle, key) | _add(handle, item) | int(_C.regoInputObjectItem(handle))
        return code | int(_C.regoInputObject(handle, len(value)))
    if kind is list or kind is tuple:
        code = 0
        for item in value:
            code |= _add(handle, item)
        return code | int(_C.regoInputArray(handle, len(value)))
    if kind is bool:
        return int(_C.regoInputBoolean(handle, value))
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise NotDirectlyConvertible("integer beyond int64")
        return int(_C.regoInputInt(handle, value))
    if value is None:
        return int(_C.regoInputNull(handle))
    if kind is float:
        return int(_C.regoInputFloat(handle, value))
    raise NotDirectlyConvertible(f"{kind.__name__} is not a JSON value")


def to_rego_input(value: Any) -> Input:
    """A regopy ``Input`` holding ``value`` (JSON types only); see the module docstring."""
    handle = _shared.rego_new_input()
    # Owned from here on: _DirectInput frees it when collected, whatever happens next.
    built = _DirectInput(handle)
    if _add(handle, value) != _OK:
        raise NotDirectlyConvertible("rego-cpp refused part of the input")
    return built
