"""Text search over SQL: the terms of each version in a text index (migrations/*/0008_search.sql), and the one
query that finds the newest versions a reader sees carrying them.

Each term is kept as 64 bits of BLAKE2b of the term. Whatever a user typed, an index only ever sees such
hashes, so nothing can reach its query language (FTS5's ``"``, ``*``, ``NEAR``, ``OR``, ``:``) and both backends
tokenize alike.

* SQLite: an FTS5 table (rowid = the version's seq) whose one column holds the hashes as 16 hex digits. FTS5
  keeps, for each term, the rowids holding it (a doclist), and walks them backwards: newest first, without
  sorting, and only those rows.
* PostgreSQL: ``search_postings`` (term, vseq), a B-tree keyed by both: the same doclists, read backwards by an
  index range scan. The rarest term (``_PROBES``) drives the scan; the other terms are probes of that
  primary key, and so are the version and its memberships (LATERAL joins), so the scan stops at the limit.
  ``search_docs`` keeps each version's terms, for deleting and replacing them.
  (A GIN index cannot hand its matches over in order: for a term carried by 10% of a million versions, all of
  them old, PostgreSQL then either sorted 100,000 rows or scanned 840,000 others: 1.3 to 2 s. Postings take
  1.6 GB at a million indicators of ~20 terms each, where the versions take 1 GB.)

The query keeps a version only when one of its memberships in the reader's collections is the latest version
there and passes that collection's visibility: the conditions a page of objects compiles
(``_objects._visible``), inside the query, so the limit counts only what the reader sees.

``horizon`` (``Store.search_horizon``) reads the same matches from the index alone (no version, no membership)
and returns the ``rows``-th: the service bounds the query by it (an ``after``), so a search examines a fixed
number of matches however few of them the reader sees.
"""

from __future__ import annotations

__all__ = ["FtsIndex", "PostingsIndex", "TextIndex", "term_hash", "token"]

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from .._cursor import check_limit
from .._plan import VersionInsert
from .._protocol import TextMatch, TextQuery, Visibility, is_int64
from .._search import check_text_query
from . import _objects  # a module: _objects imports this one, and is not finished when it does
from ._readable import readable_condition
from ._tx import Tx, placeholders

_CHUNK = 500


T = TypeVar("T")
_PROBES = (10_000, 250_000)
"""PostgreSQL: each term's postings are counted up to the first many, to find the rarest (the one to scan). When
several reach it, the planner's statistics rank them (the most common terms and how common); without statistics,
they are counted again up to the second."""


def _digest(term: str) -> bytes:
    return hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def token(term: str) -> str:
    """The first 64 bits of BLAKE2b of a term, as 16 lower-case hex digits (SQLite's FTS5 tokens)."""
    return _digest(term).hex()


def term_hash(term: str) -> int:
    """The same 64 bits as a signed integer (PostgreSQL's postings)."""
    return int.from_bytes(_digest(term), "big", signed=True)


class _Remembered(Generic[T]):
    """Words recur from object to object (a family's name, "malware", a domain's parents): remembering those
    hashed lately saves most of the hashing, which otherwise costs more than FTS5's own insert (measured: 23 terms
    an indicator, 22 us to hash them, 4 us to index them). Forgets everything past ``most`` (a dict, not an LRU:
    a lookup is what must be cheap)."""

    def __init__(self, make: Callable[[str], T], most: int = 200_000) -> None:
        self._make = make
        self._most = most
        self._known: dict[str, T] = {}

    def __call__(self, terms: Sequence[str]) -> list[T]:
        known, make = self._known, self._make
        found: list[T] = []
        for term in terms:
            value = known.get(term)
            if value is None:
                if len(known) >= self._most:
                    known.clear()
                value = known[term] = make(term)
            found.append(value)
        return list(dict.fromkeys(found))


_tokens = _Remembered(token)
_hashes = _Remembered(term_hash)


class TextIndex:
    """Where one SQL dialect keeps the terms, and how it asks for them."""

    def insert(self, tx: Tx, versions: Sequence[VersionInsert]) -> None:
        """Index the search terms of new versions."""
        self._insert(tx, [(v.seq, v.row.search_terms) for v in versions if v.row.search_terms])

    def _insert(self, tx: Tx, keyed: Sequence[tuple[int, tuple[str, ...]]]) -> None:
        raise NotImplementedError

    def delete(self, tx: Tx, seqs: Sequence[int]) -> None:
        """Forget the terms of versions removed from the store."""
        raise NotImplementedError

    def replace(self, tx: Tx, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        """``Store.set_terms``: the versions' seqs by id (500 ids a statement), then their terms replaced."""
        wanted: dict[tuple[str, int], tuple[str, ...]] = {}
        for oid, ver, terms in keyed:
            if is_int64(ver):
                wanted[(oid, ver)] = tuple(terms)
        ids = sorted({oid for oid, _ in wanted})
        seqs: dict[tuple[str, int], int] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = set(ids[start : start + _CHUNK])
            cond, params = tx.any_of("id_key", sorted({_objects.id_key(i) for i in chunk}))
            for seq, oid, ver in tx.rows(f"SELECT seq, id, version FROM versions WHERE {cond}", params):
                if (oid, ver) in wanted:
                    seqs[(oid, ver)] = int(seq)
        self.delete(tx, sorted(seqs.values()))
        self._insert(tx, [(seq, wanted[pair]) for pair, seq in sorted(seqs.items(), key=lambda p: p[1])
                          if wanted[pair]])
        return len(seqs)

    def search(self, tx: Tx, query: TextQuery, readable: Mapping[str, Visibility],
               types: Mapping[str, tuple[str, ...]] | None) -> list[TextMatch]:
        """``Store.search`` in one statement (on PostgreSQL, after counting the terms' postings)."""
        query = check_text_query(query)
        condition = readable_condition(tx, readable, types)
        if condition is None:
            return []
        visible, visible_params = condition
        params: list[object] = []
        found = self._statement(tx, query, params)
        if found is None:
            return []
        statement, contributors = found
        if query.contributors:
            contributors.append(f"v.contributor IN ({placeholders(len(query.contributors))})")
            params.extend(query.contributors)
        params.extend(visible_params)
        params.append(query.limit)
        sql = statement.format(contributors=" AND ".join(contributors) or "1 = 1", visible=visible)
        return [TextMatch(str(i), int(ver), str(t), str(by), int(seq)) for i, ver, t, by, seq in tx.rows(sql, params)]

    def horizon(self, tx: Tx, query: TextQuery, rows: int) -> int | None:
        """``Store.search_horizon``: the ``rows``-th of the index's matches, newest first (the index alone)."""
        query = check_text_query(query)
        check_limit(rows)
        params: list[object] = []
        matching = self._matching(tx, query, params)
        if matching is None:
            return None
        found = tx.rows(f"{matching} LIMIT 1 OFFSET ?", [*params, rows - 1])
        return int(found[0][0]) if found else None

    def _matching(self, tx: Tx, query: TextQuery, params: list[object]) -> str | None:
        """A SELECT of the seqs of the versions carrying the terms within the bounds, newest first, whoever sees
        them (its parameters added to ``params``); None: nothing can match."""
        raise NotImplementedError

    def _statement(self, tx: Tx, query: TextQuery, params: list[object]) -> tuple[str, list[str]] | None:
        """The SELECT (``{contributors}`` and ``{visible}`` left to fill, each with its parameters after those
        this adds to ``params``), and a list to put the contributor conditions into; None: nothing can match."""
        raise NotImplementedError


def _bounds(column: str, query: TextQuery, where: list[str], params: list[object]) -> None:
    if query.after is not None:
        where.append(f"{column} > ?")
        params.append(query.after)
    if query.before is not None:
        where.append(f"{column} < ?")
        params.append(query.before)


class FtsIndex(TextIndex):
    """SQLite: an FTS5 table, rowid = the version's seq, one column of space-separated tokens."""

    def _insert(self, tx: Tx, keyed: Sequence[tuple[int, tuple[str, ...]]]) -> None:
        if keyed:
            tx.insert_many("search_terms", ("rowid", "terms"), [(seq, " ".join(_tokens(t))) for seq, t in keyed])

    def delete(self, tx: Tx, seqs: Sequence[int]) -> None:
        for start in range(0, len(seqs), _CHUNK):
            cond, params = tx.any_of("rowid", list(seqs[start : start + _CHUNK]))
            tx.run(f"DELETE FROM search_terms WHERE {cond}", params)

    @staticmethod
    def _expression(query: TextQuery) -> str:
        # Tokens are hex digits: never an FTS5 keyword (those are upper case), never syntax.
        expression = "(" + " AND ".join(_tokens(query.all_of)) + ")"
        if query.none_of:
            expression += " NOT (" + " OR ".join(_tokens(query.none_of)) + ")"
        return expression

    def _matching(self, tx: Tx, query: TextQuery, params: list[object]) -> str | None:
        where = ["s.search_terms MATCH ?"]
        params.append(self._expression(query))
        _bounds("s.rowid", query, where, params)
        return f"SELECT s.rowid FROM search_terms s WHERE {' AND '.join(where)} ORDER BY s.rowid DESC"

    def _statement(self, tx: Tx, query: TextQuery, params: list[object]) -> tuple[str, list[str]] | None:
        where = ["s.search_terms MATCH ?", "v.seq = s.rowid"]
        params.append(self._expression(query))
        _bounds("s.rowid", query, where, params)
        # CROSS JOIN keeps the index as the outer loop: FTS5 hands its rowids over newest first, and the scan
        # stops once the limit is reached.
        return ("SELECT v.id, v.version, v.type, v.contributor, v.seq FROM search_terms s CROSS JOIN versions v "
                f"WHERE {' AND '.join(where)} AND {{contributors}} AND EXISTS (SELECT 1 FROM memberships m "
                "WHERE m.vseq = v.seq AND m.is_last = 1 AND ({visible})) ORDER BY s.rowid DESC LIMIT ?"), []


def _count(tx: Tx, hashes: list[int], most: int) -> dict[int, int]:
    """How many postings each term has, up to ``most``: an index-only range scan each."""
    return {int(h): int(n) for h, n in tx.rows(
        "SELECT t, (SELECT count(*) FROM (SELECT 1 FROM search_postings p WHERE p.term = t "
        f"LIMIT {int(most)}) c) FROM unnest(?::bigint[]) AS t", [hashes])}


def _common(tx: Tx, hashes: list[int]) -> dict[int, int] | None:
    """How common each term is by the planner's statistics (``pg_stats``: the most common values of
    ``search_postings.term`` and their frequencies), on a scale where any term outside that list ranks below
    every term in it; None when there are no statistics yet."""
    found = tx.rows("SELECT most_common_vals::text::bigint[], most_common_freqs FROM pg_stats "
                    "WHERE schemaname = current_schema() AND tablename = 'search_postings' AND attname = 'term'")
    if not found or found[0][0] is None:
        return None
    frequency = dict(zip(found[0][0], found[0][1], strict=False))
    return {h: _PROBES[0] + int(frequency[h] * 1e9) if h in frequency else _PROBES[0] for h in hashes}


class PostingsIndex(TextIndex):
    """PostgreSQL: ``search_postings`` (term, vseq) read backwards from the rarest term; ``search_docs`` (vseq,
    terms) to delete them."""

    def _insert(self, tx: Tx, keyed: Sequence[tuple[int, tuple[str, ...]]]) -> None:
        if not keyed:
            return
        hashed = [(seq, _hashes(terms)) for seq, terms in keyed]
        tx.insert_many("search_docs", ("vseq", "terms"), hashed)
        # In index order: the rows of one term land on the same leaf pages (measured: 7,800 versions/s instead of
        # 5,800 into an empty store, 15,600 without any terms).
        tx.insert_many("search_postings", ("term", "vseq"), sorted((h, seq) for seq, hs in hashed for h in hs))

    def delete(self, tx: Tx, seqs: Sequence[int]) -> None:
        for start in range(0, len(seqs), _CHUNK):
            chunk = list(seqs[start : start + _CHUNK])
            cond, params = tx.any_of("vseq", chunk)
            tx.run("DELETE FROM search_postings p USING (SELECT vseq, unnest(terms) AS term FROM search_docs "
                   f"WHERE {cond}) d WHERE p.term = d.term AND p.vseq = d.vseq", params)
            tx.run(f"DELETE FROM search_docs WHERE {cond}", params)

    def _matching(self, tx: Tx, query: TextQuery, params: list[object]) -> str | None:
        wanted = _hashes(query.all_of)
        counts = _count(tx, wanted, _PROBES[0])
        if any(counts.get(h, 0) == 0 for h in wanted):
            return None
        capped = [h for h in wanted if counts[h] >= _PROBES[0]]
        if len(capped) > 1:
            counts.update(_common(tx, capped) or _count(tx, capped, _PROBES[1]))
        driving, *others = sorted(wanted, key=lambda h: (counts[h], wanted.index(h)))
        params.extend(others)  # the probes come first in the text
        where = ["p.term = ?"]
        params.append(driving)
        _bounds("p.vseq", query, where, params)
        # Every join is a LATERAL subquery with LIMIT 1: PostgreSQL then probes each by its key for each posting,
        # in the postings' order, and stops at the limit (a merge join would read whole tables to line up).
        probes = "".join(f" CROSS JOIN LATERAL (SELECT 1 FROM search_postings q WHERE q.term = ? "
                         f"AND q.vseq = p.vseq LIMIT 1) t{n}" for n in range(len(others)))
        if query.none_of:
            where.append("NOT EXISTS (SELECT 1 FROM search_postings q WHERE q.term = ANY(?::bigint[]) "
                         "AND q.vseq = p.vseq)")
            params.append(_hashes(query.none_of))
        return f"SELECT p.vseq FROM search_postings p{probes} WHERE {' AND '.join(where)} ORDER BY p.vseq DESC"

    def _statement(self, tx: Tx, query: TextQuery, params: list[object]) -> tuple[str, list[str]] | None:
        matching = self._matching(tx, query, params)
        if matching is None:
            return None
        statement = (
            f"SELECT v.id, v.version, v.type, v.contributor, s.vseq FROM ({matching} OFFSET 0) s "
            "CROSS JOIN LATERAL (SELECT v.id, v.version, v.type, v.contributor, v.level, v.seq FROM versions v "
            "WHERE v.seq = s.vseq AND {contributors} LIMIT 1) v "
            "CROSS JOIN LATERAL (SELECT 1 FROM memberships m WHERE m.vseq = v.seq AND m.is_last = 1 "
            "AND ({visible}) LIMIT 1) w ORDER BY s.vseq DESC LIMIT ?")
        return statement, []
