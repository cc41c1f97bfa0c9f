"""Many literal fragments looked up at once in a string: the automaton behind ``LIKE`` and ``MATCHES`` anchors.

``FragmentTable`` files items under fragments of text and finds, for a string, the items of every fragment it
contains, in one pass over the string (Aho-Corasick, ``pyahocorasick``), whatever the number of fragments.

The automaton is rebuilt, not updated: fragments added since the last build wait in a short list that every
lookup also scans (``in``, fast for a few dozen), and the first lookup after more than ``PENDING`` of them have
arrived rebuilds it (a bulk load costs one build). Removal only empties the fragment's bucket: the automaton
may still report the fragment, which then yields nothing, until the next rebuild.
"""

from __future__ import annotations

__all__ = ["PENDING", "FragmentTable"]

from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type hints

from . import _buckets

PENDING = 32


class FragmentTable:
    __slots__ = ("_automaton", "_built", "_pending", "_table")

    def __init__(self) -> None:
        self._table: dict[str, Any] = {}  # fragment -> bucket of items
        self._automaton: Any = None
        self._built: set[str] = set()  # the fragments in the automaton
        self._pending: list[str] = []  # fragments added since, not yet in it

    def __len__(self) -> int:
        return len(self._table)

    def add(self, fragment: str, item: object) -> None:
        if fragment not in self._table and fragment not in self._built:
            self._pending.append(fragment)
        _buckets.add(self._table, fragment, item)

    def discard(self, fragment: str, item: object) -> None:
        _buckets.discard(self._table, fragment, item)
        if fragment not in self._table and fragment in self._pending:
            self._pending.remove(fragment)

    def _build(self) -> None:
        fragments = list(self._table)
        self._pending = []
        self._built = set(fragments)
        if not fragments:
            self._automaton = None
            return
        automaton = ahocorasick.Automaton()
        for fragment in fragments:
            automaton.add_word(fragment, fragment)
        automaton.make_automaton()
        self._automaton = automaton

    def lookup(self, text: str) -> list[Any]:
        """The items of every fragment ``text`` contains (an item may come more than once)."""
        if len(self._pending) > PENDING:
            self._build()
        items: list[Any] = []
        table = self._table
        if self._automaton is not None:
            for _, fragment in self._automaton.iter(text):
                held = table.get(fragment)
                if held is not None:
                    items.extend(_buckets.items(held))
        for fragment in self._pending:
            if fragment in text:
                items.extend(_buckets.items(table.get(fragment)))
        return items
