"""Fuzzy search over model ids and providers, fast enough to run on every keystroke."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from tui.core.catalog import Model, Provider

# Scores, in the spirit of fzf: every matched character scores; matches at word starts,
# at the start of the model name or of the provider, and runs of consecutive characters
# score more; gaps cost a little.
_MATCH = 16
_BONUS_NAME_START = 12  # first character of the name, after "provider/"
_BONUS_START = 10  # first character of the id (the provider)
_BONUS_SLASH = 10
_BONUS_BOUNDARY = 8  # after - _ . : @ or a space
_BONUS_TRANSITION = 4  # letter <-> digit
_BONUS_CONSECUTIVE = 5
_BONUS_VERIFIED = 15
_BONUS_RECOMMENDED = 5
_BONUS_OWN = 8  # the maker's own listing (see _MAKERS)
_SEARCH_SPACES = re.compile(r"\s+")
_SEPARATORS = frozenset("-_.:@ ")

Match = tuple[Model, float, tuple[int, ...]]


def _normalize_query(query: str) -> str:
    return _SEARCH_SPACES.sub("", query.lower())


def _bonus(s: str, p: int, name_start: int) -> int:
    if p == name_start and p:
        return _BONUS_NAME_START
    if p == 0:
        return _BONUS_START
    prev = s[p - 1]
    if prev == "/":
        return _BONUS_SLASH
    if prev in _SEPARATORS:
        return _BONUS_BOUNDARY
    if prev.isdigit() != s[p].isdigit() and prev.isalnum() and s[p].isalnum():
        return _BONUS_TRANSITION
    return 0


def _score1(s: str, c: str, name_start: int) -> tuple[int, tuple[int, ...]] | None:
    """:func:`_score` for a one-character query: the occurrence with the best bonus."""
    if name_start and s.startswith(c, name_start):
        return _MATCH + _BONUS_NAME_START, (name_start,)
    find = s.find
    p = find(c)
    if p < 0:
        return None
    best, where = -1, p
    while p >= 0:
        b = _bonus(s, p, name_start)
        if b > best:
            best, where = b, p
            if b >= _BONUS_SLASH:
                break
        p = find(c, p + 1)
    return _MATCH + best, (where,)


def _score(s: str, q: str, name_start: int) -> tuple[int, tuple[int, ...]] | None:
    """Best alignment of ``q`` as a subsequence of ``s``: (score, positions) or None."""
    find = s.find
    m = len(q)
    if m == 1:
        return _score1(s, q, name_start)
    # Window of each query character: its leftmost and rightmost feasible positions.
    early = []
    p = -1
    for c in q:
        p = find(c, p + 1)
        if p < 0:
            return None
        early.append(p)
    late = [0] * m
    p = len(s)
    for i in range(m - 1, -1, -1):
        p = s.rfind(q[i], 0, p)
        late[i] = p
    # Sparse dynamic programming over the occurrences inside each window.
    c = q[0]
    pos: list[int] = []
    sc: list[int] = []
    p, hi = early[0], late[0]
    while 0 <= p <= hi:
        pos.append(p)
        sc.append(_MATCH + _bonus(s, p, name_start))
        p = find(c, p + 1)
    steps = [pos]
    backs: list[list[int]] = []
    for i in range(1, m):
        c = q[i]
        p, hi = early[i], late[i]
        npos: list[int] = []
        nsc: list[int] = []
        nback: list[int] = []
        j = 0
        n_prev = len(pos)
        best_gap = best_j = -1  # best of score + position over occurrences before p - 1
        while 0 <= p <= hi:
            while j < n_prev and pos[j] < p - 1:
                v = sc[j] + pos[j]
                if best_j < 0 or v > best_gap:
                    best_gap, best_j = v, j
                j += 1
            score, from_j = (best_gap - p - 1, best_j) if best_j >= 0 else (0, -1)
            if j < n_prev and pos[j] == p - 1:
                cons = sc[j] + _BONUS_CONSECUTIVE
                if from_j < 0 or cons >= score:
                    score, from_j = cons, j
            if from_j >= 0:
                npos.append(p)
                nsc.append(score + _MATCH + _bonus(s, p, name_start))
                nback.append(from_j)
            p = find(c, p + 1)
        pos, sc = npos, nsc
        steps.append(pos)
        backs.append(nback)
    k = max(range(len(sc)), key=sc.__getitem__)
    total = sc[k]
    out = [0] * m
    for i in range(m - 1, 0, -1):
        out[i] = steps[i][k]
        k = backs[i - 1][k]
    out[0] = steps[0][k]
    return total, tuple(out)


# The previous search: (models object, its length, normalised query, candidate indices).
_last: tuple[Sequence[Model], int, str, list[int]] | None = None


@functools.lru_cache(maxsize=64)
def _prefilter(q: str) -> re.Pattern[str]:
    """A compiled subsequence test, ``a[^b]*b[^c]*c``: linear, no backtracking."""
    return re.compile(re.escape(q[0]) + "".join(f"[^{re.escape(c)}]*{re.escape(c)}"
                                                for c in q[1:]))


def search(query: str, models: Sequence[Model], limit: int = 200) -> list[Match]:
    """Fuzzy-find ``query`` in model ids: [(model, score, matched positions in model.id)].

    The typed characters must appear in order (case-insensitive; spaces are ignored). Word
    starts, the start of the name or of the provider, and consecutive runs score higher;
    verified models and the maker's own listing get a boost; ties go to the shorter rest,
    then to the order of ``models``. An empty query returns ``models`` in their order
    (verified first for :func:`chat_models`). Typing on (a query extending the previous one
    over the same ``models`` object) only re-checks the previous candidates.
    """
    q = _normalize_query(query)
    if not q:
        return [(m, 0.0, ()) for m in models[:limit]]
    global _last
    last = _last
    pool: Iterable[int] = range(len(models))
    if last is not None and last[0] is models and last[1] == len(models) and \
            q.startswith(last[2]):
        pool = last[3]  # typing on: only the previous candidates can still match
    test = _prefilter(q).search
    candidates = [i for i in pool if test(models[i].search_key)]
    _last = (models, len(models), q, candidates)

    scored = []
    score = _score
    for i in candidates:
        m = models[i]
        key = m.search_key
        found = score(key, q, m.name_start)
        if found is None:
            continue
        total, positions = found
        if m.verified:
            total += _BONUS_VERIFIED + (_BONUS_RECOMMENDED if m.recommended else 0)
        if m.own:
            total += _BONUS_OWN
        scored.append((-total, len(key) - positions[-1], i, positions))
    scored.sort()
    return [(models[i], float(-neg), positions) for neg, _tail, i, positions in scored[:limit]]




def search_providers(query: str, items: Sequence[Provider]) -> list[Provider]:
    """Providers whose name or id holds the typed letters in order: a name or id starting
    with them first, then holding them together, then the rest; within each, the catalog's
    order (verified and guides first)."""
    q = _normalize_query(query)
    if not q:
        return list(items)
    test = _prefilter(q).search

    def rank(p: Provider) -> int:
        names = (p.name.lower().replace(" ", ""), p.id)
        return 0 if any(n.startswith(q) for n in names) else 1 if any(q in n for n in names) \
            else 2

    found = [p for p in items if test(f"{p.name} {p.id}".lower())]
    return sorted(found, key=rank)
