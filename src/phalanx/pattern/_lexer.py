"""The tokens of a STIX 2.1 pattern: one compiled regular expression, cut as the OASIS grammar's ANTLR lexer
(``STIXPattern.g4``) cuts them, longest match first.

A token is ``(kind, start, end, match)``, with offsets into the pattern text. Punctuation, operators and keywords
are their own kind (``"["``, ``"<="``, ``"AND"``); the other kinds are the constants below. Whitespace and comments
(``/* */``, ``//``) are skipped. Nothing here raises: a character the grammar has no token for becomes a ``BAD``
token, the last before ``END``: the parser reports it where it meets it, like any other unexpected token.

Speed: most comparisons are ``type:name.name op value``, most observation expressions hold one comparison. The
lexer returns such a comparison as one ``COMPARISON`` token, and ``[ comparison ]`` as one ``OBSERVATION`` token,
the parts in the match's groups. They cover exactly the ANTLR tokens the grammar would cut from the same text (the
expressions below end only where ANTLR's tokens end), so the parse is the same, in a third of the regex matches;
a property name there may be a keyword, which ``plain_comparison`` checks (then the parser splits the token with
``split`` and reports it). Anything less plain (a comment, a newline, an IN set, NOT, EXISTS) is cut token by token.
"""

from __future__ import annotations

__all__ = ["BAD", "BINARY", "BOOL", "COMPARISON", "COMPARISON_GROUPS", "END", "FLOAT", "HEX", "IDENT", "INT",
           "KEYWORDS", "OBSERVATION", "OBSERVATION_GROUPS", "PLAIN_PATTERN_GROUPS", "STRING", "TIMESTAMP", "Token",
           "plain_pattern", "split", "tokenize"]

import re
from collections.abc import Iterator
from typing import Final

STRING: Final = "string"  # 'text' with \' and \\ escapes
INT: Final = "int"  # 12, +12, -12 (no leading zeros)
FLOAT: Final = "float"  # 1.5, .5, -0.5, +1.5
TIMESTAMP: Final = "timestamp"  # t'2016-01-01T00:00:00Z'
BINARY: Final = "binary"  # b'base64'
HEX: Final = "hex"  # h'hex digits'
BOOL: Final = "bool"  # true, false
IDENT: Final = "ident"  # an object type or a property name: [A-Za-z_][A-Za-z0-9_-]*
COMPARISON: Final = "comparison"  # type:path op value, plain: groups ctype, cpath, cop, cvalue
OBSERVATION: Final = "observation"  # [ type:path op value ]: groups otype, opath, oop, ovalue
BAD: Final = "bad"  # a character the grammar has no token for (or a lone quote)
END: Final = "end"  # the end of the pattern, always the last token

Token = tuple[str, int, int, "re.Match[str]"]

KEYWORDS: Final = frozenset({
    "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET", "EXISTS", "LAST", "IN",
    "START", "STOP", "SECONDS", "WITHIN", "REPEATS", "TIMES"})
"""Reserved words (upper case only; ``LAST`` is reserved but used nowhere): never an object type or property name
(nor are ``true`` and ``false``)."""

# The grammar's whitespace, exactly (Python's \s has more: \x1c-\x1f are invalid characters in a pattern).
_WS = "[ \t\r\n\x0b\x0c\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_B64 = "[A-Za-z0-9+/]"
_WORD_END = r"(?![A-Za-z0-9_\-])"  # where ANTLR's identifier rules stop
_RESERVED: Final = KEYWORDS | {"true", "false"}
_NOT_RESERVED = rf"(?!(?:{'|'.join(sorted(_RESERVED))}){_WORD_END})"
_STRING = r"'[^'\\]*+(?:\\['\\][^'\\]*+)*+'"
_TIMESTAMP = (r"t'[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
              r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z'")
_BINARY = rf"b'(?:{_B64}{{4}})*(?:{_B64}{{4}}|{_B64}{{3}}=|{_B64}{{2}}==)'"
_HEX = r"h'(?:[0-9A-Fa-f]{2})*+'"
_FLOAT = r"[+\-]?[0-9]*+\.[0-9]++"
_INT = r"[+\-]?(?:0|[1-9][0-9]*+)"


def _plain_comparison(p: str) -> str:
    """``type:path op value`` with only spaces and tabs around the operator, in groups named with prefix ``p``:
    ``where`` (type:path), ``type``, ``path``, ``op``, ``value``. A property name may still be a keyword (not
    an identifier for ANTLR, but the same characters): ``plain_comparison`` checks, so the expression stays quick."""
    name = rf"(?:[A-Za-z_][A-Za-z0-9_]*+(?![\-'])|{_STRING})"
    step = rf"(?:\.{name}|\[(?:\*|{_INT})\])"
    op = rf"(?:<=|>=|<>|!=|==|[=<>]|(?:LIKE|MATCHES|ISSUBSET|ISSUPERSET){_WORD_END})"
    value = rf"(?:{_STRING}|{_TIMESTAMP}|{_FLOAT}|{_INT}|(?:true|false){_WORD_END}|{_BINARY}|{_HEX})"
    return (rf"(?P<{p}where>(?P<{p}type>{_NOT_RESERVED}[A-Za-z_][A-Za-z0-9_\-]*+):(?P<{p}path>{name}{step}*+))"
            rf"[ \t]*+(?P<{p}op>{op})[ \t]*+(?P<{p}value>{value})")


# Each alternative is tried in order; the order gives ANTLR's longest match: the prefixed literals before
# identifiers (t'...' is longer than t), floats before ints (1.5 is longer than 1). A literal that does not match
# its whole shape falls back to shorter tokens (t, then a string), exactly as in ANTLR, and the parser explains what
# was wrong with it. The skip prefix cannot backtrack into trouble: after it, END or BAD always matches.
_SKIP = rf"(?:{_WS}|/\*(?s:.*?)\*/|//[^\r\n]*)*+"
_COMPOSITES = (rf"(?P<{END}>\Z)|(?P<{OBSERVATION}>\[[ \t]*+{_plain_comparison('o')}[ \t]*+\])"
               rf"|(?=[A-Za-z_])(?P<{COMPARISON}>{_plain_comparison('c')})|")
_SINGLES = (
    rf"(?P<word>[A-Za-z_][A-Za-z0-9_\-]*+(?!'))"
    rf"|(?P<{STRING}>{_STRING})"
    r"|(?P<op><=|>=|<>|!=|==|[=<>\[\]():,*]|\.(?![0-9]))"
    rf"|(?P<{TIMESTAMP}>{_TIMESTAMP})"
    rf"|(?P<{BINARY}>{_BINARY})"
    rf"|(?P<{HEX}>{_HEX})"
    rf"|(?P<{FLOAT}>{_FLOAT})"
    rf"|(?P<{INT}>{_INT})"
    r"|(?P<prefixed>[A-Za-z_][A-Za-z0-9_\-]*+)"  # an identifier right before a quote: t, b or h whose literal failed
    rf"|(?P<{BAD}>(?s:.))")  # includes + - / ^ and a lone ', which the grammar lexes but never accepts
_TOKEN_RE = re.compile(rf"{_SKIP}(?:{_COMPOSITES}{_SINGLES})")
_SINGLE_TOKEN_RE = re.compile(rf"{_SKIP}(?:(?P<{END}>\Z)|{_SINGLES})")


_PLAIN_PATTERN_RE = re.compile(rf"\[[ \t]*+{_plain_comparison('o')}[ \t]*+\][ \t\r\n]*+\Z")


def groups(p: str, expression: re.Pattern[str]) -> tuple[int, int, int, int, int]:
    """The numbers of the groups ``where``, ``type``, ``path``, ``op``, ``value`` with prefix ``p`` (quicker to
    look up than names)."""
    index = expression.groupindex
    return (index[p + "where"], index[p + "type"], index[p + "path"], index[p + "op"], index[p + "value"])


def plain_pattern(text: str) -> re.Match[str] | None:
    """A whole pattern that is one ``OBSERVATION`` token (and maybe a final newline): its match, else None."""
    return _PLAIN_PATTERN_RE.match(text)


PLAIN_PATTERN_GROUPS: Final = groups("o", _PLAIN_PATTERN_RE)
OBSERVATION_GROUPS: Final = groups("o", _TOKEN_RE)
COMPARISON_GROUPS: Final = groups("c", _TOKEN_RE)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, the last one ``END``."""
    return _tokens(_TOKEN_RE.finditer(text), text)


def split(text: str, token: Token) -> list[Token]:
    """The single tokens a ``COMPARISON`` or ``OBSERVATION`` token is made of (to report a problem in one)."""
    return _tokens(_SINGLE_TOKEN_RE.finditer(text, token[1], token[2]), text)[:-1]  # without END


def _tokens(matches: Iterator[re.Match[str]], text: str) -> list[Token]:
    tokens: list[Token] = []
    append = tokens.append
    for m in matches:
        kind: str = m.lastgroup  # type: ignore[assignment]
        start, end = m.span(kind)
        if kind in (OBSERVATION, COMPARISON):
            append((kind, start, end, m))
            continue
        if kind == "word" or kind == "prefixed":
            word = text[start:end]
            if word in KEYWORDS:
                kind = word
            elif word == "true" or word == "false":
                kind = BOOL
            else:
                kind = IDENT
        elif kind == "op":
            kind = text[start:end]
        append((kind, start, end, m))
        if kind == END:
            break
        if kind == BAD:  # no rule takes it: the parse ends there at the latest, so stop (an unclosed string or
            append((END, end, end, m))  # comment would make each later quote or '/*' scan to the end, n**2)
            break
    return tokens
