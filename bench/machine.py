"""How fast this machine is right now, printed beside every benchmark figure.

The development machine is shared: the same code measures twice as slow at a
busy moment. PyNaCl's Ed25519 sign time of a 2 KB message (about 21 us on a
normal moment here, 43 us on a slow one) is measured in the same run as the
figures, so that runs taken at different moments can be compared.
"""

from __future__ import annotations

import statistics
import time

import nacl.signing

NORMAL_SIGN_US = 21.0


def sign_us(samples: int = 2000) -> float:
    """Median microseconds for one PyNaCl Ed25519 signature of 2 KB."""
    key = nacl.signing.SigningKey.generate()
    message = b"x" * 2048
    timings = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        key.sign(message)
        timings.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(timings)
