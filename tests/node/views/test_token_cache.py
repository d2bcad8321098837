"""The requester's kept consent tokens: used only while current and alive long enough."""

from __future__ import annotations

from node.views.service import ConsentOutcome
from node.views.token_cache import ConsentTokenCache

NOW = 1_800_000_000.0


def outcome(status: str = "obtained", *, token: str = "tok", expires_at: float = NOW + 30):
    return ConsentOutcome(token, status, None, expires_at=expires_at)


def test_a_token_is_reused_under_the_version_it_was_fetched_under() -> None:
    cache = ConsentTokenCache()
    kept = outcome()
    cache.put("sub_a", "care_coordination", kept, version=3)
    assert cache.get("sub_a", "care_coordination", version=3, needed_s=2, now=NOW) is kept
    assert cache.get("sub_a", "safeguarding", version=3, needed_s=2, now=NOW) is None
    assert cache.get("sub_b", "care_coordination", version=3, needed_s=2, now=NOW) is None


def test_a_consent_change_since_the_fetch_drops_the_token() -> None:
    cache = ConsentTokenCache()
    cache.put("sub_a", "care_coordination", outcome(), version=3)
    assert cache.get("sub_a", "care_coordination", version=4, needed_s=2, now=NOW) is None
    # Dropped, not merely skipped: the old version does not bring it back.
    assert cache.get("sub_a", "care_coordination", version=3, needed_s=2, now=NOW) is None


def test_a_token_that_would_expire_before_partners_check_it_is_not_used() -> None:
    cache = ConsentTokenCache()
    cache.put("sub_a", "care_coordination", outcome(expires_at=NOW + 10), version=1)
    # 10 s left: 5 s clock skew plus a 2 s deadline still fit; a 6 s deadline does not.
    assert cache.get("sub_a", "care_coordination", version=1, needed_s=2, now=NOW) is not None
    assert cache.get("sub_a", "care_coordination", version=1, needed_s=6, now=NOW) is None


def test_only_tokens_the_consent_service_vouched_for_are_kept() -> None:
    cache = ConsentTokenCache()
    cache.put("sub_a", "p", outcome("unavailable", token=""), version=1)
    cache.put("sub_b", "p", outcome("no_consent"), version=1)
    assert cache.get("sub_a", "p", version=1, needed_s=0, now=NOW) is None
    assert cache.get("sub_b", "p", version=1, needed_s=0, now=NOW) is not None


def test_the_cache_holds_at_most_its_bound_dropping_the_least_recently_used() -> None:
    cache = ConsentTokenCache(max_entries=2)
    for subject in ("sub_a", "sub_b"):
        cache.put(subject, "p", outcome(), version=1)
    assert cache.get("sub_a", "p", version=1, needed_s=0, now=NOW) is not None  # a is recent
    cache.put("sub_c", "p", outcome(), version=1)
    assert len(cache) == 2
    assert cache.get("sub_b", "p", version=1, needed_s=0, now=NOW) is None
    assert cache.get("sub_a", "p", version=1, needed_s=0, now=NOW) is not None
    disabled = ConsentTokenCache(max_entries=0)
    disabled.put("sub_a", "p", outcome(), version=1)
    assert len(disabled) == 0
