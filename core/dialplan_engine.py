"""The dial-plan engine: what the proxies' dialplan module does to a dialled number.

Kamailio's dialplan module (``match_op`` 1, regular expressions) tries the rules of a
plan by ascending priority. A rule applies when its match expression is found
anywhere in the dialled string (PCRE search, not a full match: anchor rules with
``^`` and ``$``). The first rule that applies is the only one used: its
substitution expression is searched in the dialled string, and the result is the
replacement expression with ``\\1``..``\\9`` taken from that search's groups. The
result is the expanded replacement alone, not the dialled string with the
matched part replaced (``rule_translate`` in the module's ``dp_repl.c`` builds
the output from the replacement only). When the substitution expression finds
nothing, the proxies fail the translation and leave the number as it was.

``_CC_`` and ``_AC_`` in a replacement stand for the caller's country and area
code; the routing export writes them as the proxy variables that hold them, and
:func:`substitute_placeholders` does that for it.

Expressions must mean the same to Python's ``re`` (the simulation here) and to
PCRE (the proxies), so only a common subset is accepted: literals, ``.``,
``^``, ``$``, character classes, groups ``(...)`` and ``(?:...)``, ``|``, the
quantifiers ``* + ? {m} {m,} {m,n}`` and their lazy forms, the escapes ``\\d \\D
\\s \\S \\w \\W`` (ASCII in both: Python compiles with ``re.ASCII``, the proxies
without UTF) and a backslash before punctuation. Expressions that can backtrack
for a very long time on a number that does not match are refused too; see
:func:`_check_backtracking` for the rules.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The parser behind re.compile: its tree is the only faithful view of what Python
# will match, which the backtracking rules below are written against.
# typeshed has no stubs for these private modules.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Generic, Protocol, TypeVar

from core.errors import DomainError, ErrorCode, ErrorCollector
from core.models.dialplan import MAX_EXPRESSION_LENGTH

# Kamailio refuses a substitution expression with more than 10 groups; the
# replacement can only name \1..\9, so more would be of no use anyway.
MAX_GROUPS = 9
# No dialled number is this long; bounding the input bounds the work of every rule.
MAX_NUMBER_LENGTH = 32
MAX_REPEAT_COUNT = 100
# Each quantifier whose count varies multiplies the ways to try a number that fails.
MAX_VARIABLE_QUANTIFIERS = 4

_ASCII = frozenset(range(128))
_NEWLINE = ord("\n")
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
# A parsed expression: (operator, value) pairs, as re's parser builds them.
Tree = Iterable[tuple[Any, Any]]


class _ExpressionError(Exception):
    """Why an expression is refused; the caller names the field it came from."""


# Reading the text: only the common dialect -------------------------------------------------

_CLASS_ESCAPES = frozenset("dDsSwW")
_PUNCTUATION = frozenset(string.punctuation)
_COUNT = re.compile(r"\{(\d+)(,(\d*))?\}")
_LOOKAROUND = "lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported"
_NAMED_GROUP = "named groups are not supported: use plain (...) groups and \\1..\\9"
# First match wins: the longer openings come before their prefixes.
_GROUP_OPENINGS = (
    ("(?:", None),
    *((opening, _LOOKAROUND) for opening in ("(?=", "(?!", "(?<=", "(?<!")),
    *((opening, _NAMED_GROUP) for opening in ("(?P", "(?<", "(?'")),
    ("(?>", "atomic groups (?>...) are not supported"),
    ("(?#", "comments (?#...) are not supported"),
    ("(?(", "conditional groups are not supported"),
    ("(?", "inline flags such as (?i) are not supported"),
    ("(*", "PCRE verbs such as (*UTF) are not supported"),
)
_LETTER_ESCAPES = {
    **dict.fromkeys("AZzG", "anchors \\A, \\Z, \\z and \\G are not supported: use ^ and $"),
    **dict.fromkeys("pPX", "unicode properties such as \\p{...} are not supported: "
                           "the proxies match bytes"),
}


def _escape(text: str, index: int) -> int:
    """Check the escape at ``index`` (a backslash); returns where the next token starts."""
    if index + 1 == len(text):
        raise _ExpressionError("the expression ends with a lone backslash")
    char = text[index + 1]
    if char.isdigit():
        raise _ExpressionError("back-references such as \\1 are not allowed inside an "
                               "expression; use them in the replacement")
    if char not in _CLASS_ESCAPES and char not in _PUNCTUATION:
        raise _ExpressionError(_LETTER_ESCAPES.get(
            char, f"\\{char} is not supported; the escapes allowed are \\d \\D \\s \\S \\w "
                  "\\W and a backslash before punctuation"))
    return index + 2


def _character_class(text: str, index: int) -> int:
    """Check the class opening at ``index``; returns the index after its closing ]."""
    index += 1
    if text.startswith("^", index):
        index += 1
    if text.startswith("]", index):
        raise _ExpressionError("write ] inside a character class as \\]")
    while index < len(text) and text[index] != "]":
        if text[index] == "\\":
            index = _escape(text, index)
            continue
        if text[index] == "[":
            raise _ExpressionError("write [ inside a character class as \\[ "
                                   "(PCRE reads [:digit:] as a POSIX class)")
        if text[index] in "&~|-" and text.startswith(text[index] * 2, index):
            raise _ExpressionError("escape doubled &, ~, | and - inside a character class "
                                   "(Python reserves them for set operations)")
        _literal(text[index])
        index += 1
    return index + 1  # an unclosed class is reported by the compiler


def _group_opening(text: str, index: int) -> int:
    for opening, refusal in _GROUP_OPENINGS:
        if text.startswith(opening, index):
            if refusal:
                raise _ExpressionError(refusal)
            return index + len(opening)
    return index + 1


def _count(text: str, index: int) -> int:
    """Check the counted quantifier {m}, {m,} or {m,n} at ``index``."""
    found = _COUNT.match(text, index)
    if found is None:
        if text.startswith("{,", index):
            raise _ExpressionError("write {0,n}: the proxies' PCRE reads {,n} as plain text")
        raise _ExpressionError("a { must start a count such as {3} or {2,5}; "
                               "write a literal { as \\{")
    counts = [int(value) for value in (found.group(1), found.group(3)) if value]
    if max(counts) > MAX_REPEAT_COUNT:
        raise _ExpressionError(f"counts above {MAX_REPEAT_COUNT} are refused: "
                               "no number is that long")
    return found.end()


def _literal(char: str) -> None:
    if char not in string.printable or char in string.whitespace:
        raise _ExpressionError("use printable ASCII characters only, without spaces "
                               "(the proxies match bytes)")


def _scan(text: str) -> None:
    """Refuse, token by token, what is not in the dialect both engines read alike."""
    index = 0
    after_quantifier = False
    while index < len(text):
        char = text[index]
        quantifier = char in "*+?{"
        if after_quantifier and char == "+":
            raise _ExpressionError("possessive quantifiers such as a++ are not supported")
        if after_quantifier and char == "?":
            quantifier = False  # the lazy form of the quantifier before it
            index += 1
        elif char == "\\":
            index = _escape(text, index)
        elif char == "[":
            index = _character_class(text, index)
        elif char == "(":
            index = _group_opening(text, index)
        elif char == "{":
            index = _count(text, index)
        else:
            _literal(char)
            index += 1
        after_quantifier = quantifier


# Backtracking ---------------------------------------------------------------------------------

_CATEGORY_CHARS = {
    category: frozenset(c for c in _ASCII if re.fullmatch(escape, chr(c), re.ASCII))
    for category, escape in (
        (sre.CATEGORY_DIGIT, r"\d"), (sre.CATEGORY_NOT_DIGIT, r"\D"),
        (sre.CATEGORY_SPACE, r"\s"), (sre.CATEGORY_NOT_SPACE, r"\S"),
        (sre.CATEGORY_WORD, r"\w"), (sre.CATEGORY_NOT_WORD, r"\W"),
    )
}

_NESTED = ("a repeated group contains a quantifier of its own, as in (a+)+ or (\\d*)*: "
           "such expressions can take exponential time on a number that does not match")
_AMBIGUOUS = ("alternatives inside a repeated group must start with different characters "
              "and must not match nothing, as in (a|aa)+: otherwise they can take "
              "exponential time on a number that does not match")


def _class_chars(items: Tree) -> frozenset[int]:
    chars: set[int] = set()
    negated = False
    for op, value in items:
        if op is sre.NEGATE:
            negated = True
        elif op is sre.LITERAL:
            chars.add(value)
        elif op is sre.RANGE:
            chars.update(range(value[0], value[1] + 1))
        elif op is sre.CATEGORY:
            chars |= _CATEGORY_CHARS[value]
    return _ASCII - chars if negated else frozenset(chars)


def _first_chars(items: Tree) -> tuple[frozenset[int], bool]:
    """The characters a sequence can start with, and whether it can match nothing."""
    found: set[int] = set()
    for op, value in items:
        chars, nullable = _first_chars_of(op, value)
        found |= chars
        if not nullable:
            return frozenset(found), False
    return frozenset(found), True


def _first_chars_of(op: Any, value: Any) -> tuple[frozenset[int], bool]:
    if op is sre.LITERAL:
        return frozenset({value}), False
    if op is sre.NOT_LITERAL:
        return _ASCII - {value}, False
    if op is sre.ANY:
        return _ASCII - {_NEWLINE}, False
    if op is sre.IN:
        return _class_chars(value), False
    if op is sre.SUBPATTERN:
        return _first_chars(value[-1])
    if op in _REPEATS:
        chars, nullable = _first_chars(value[2])
        return chars, nullable or value[0] == 0
    if op is sre.BRANCH:
        starts = [_first_chars(branch) for branch in value[1]]
        return (frozenset().union(*(chars for chars, _ in starts)),
                any(nullable for _, nullable in starts))
    return frozenset(), True  # anchors match no character


def _check_alternatives(branches: Sequence[Tree]) -> None:
    seen: set[int] = set()
    for branch in branches:
        chars, nullable = _first_chars(branch)
        if nullable or chars & seen:
            raise _ExpressionError(_AMBIGUOUS)
        seen |= chars


def _check_backtracking(items: Tree, repeated: bool = False) -> None:
    """Refuse what lets a regex engine try exponentially many ways to match.

    Inside a group that can repeat, a quantifier whose count varies ((a+)+, (a?)*)
    lets the engine split the same characters between iterations in every way;
    alternatives that can start alike ((a|a)+, (a|aa)+, which Python reads as
    a(|a)+) do the same. Fixed counts ((\\d{3})+) and alternatives with distinct
    first characters ((1|23)+) leave one way only, and are accepted.
    """
    for op, value in items:
        if op in _REPEATS:
            low, high, body = value
            if repeated and low != high:
                raise _ExpressionError(_NESTED)
            _check_backtracking(body, repeated or high > 1)
        elif op is sre.SUBPATTERN:
            _check_backtracking(value[-1], repeated)
        elif op is sre.BRANCH:
            if repeated:
                _check_alternatives(value[1])
            for branch in value[1]:
                _check_backtracking(branch, repeated)


def _variable_quantifiers(items: Tree) -> int:
    count = 0
    for op, value in items:
        if op in _REPEATS:
            count += (value[0] != value[1]) + _variable_quantifiers(value[2])
        elif op is sre.SUBPATTERN:
            count += _variable_quantifiers(value[-1])
        elif op is sre.BRANCH:
            count += sum(_variable_quantifiers(branch) for branch in value[1])
    return count


# Expressions ---------------------------------------------------------------------------------


def _compiled(text: str) -> re.Pattern[str]:
    if not text:
        raise _ExpressionError("write an expression")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _ExpressionError(f"use at most {MAX_EXPRESSION_LENGTH} characters")
    _scan(text)
    try:
        pattern = re.compile(text, re.ASCII)
    except re.error as error:
        raise _ExpressionError(f"not a valid regular expression: {error.msg} "
                               f"(at character {(error.pos or 0) + 1})") from None
    if pattern.groups > MAX_GROUPS:
        raise _ExpressionError(f"use at most {MAX_GROUPS} groups: a replacement can refer "
                               "to \\1..\\9 only")
    tree = sre_parse.parse(text, re.ASCII)
    _check_backtracking(tree)
    if _variable_quantifiers(tree) > MAX_VARIABLE_QUANTIFIERS:
        raise _ExpressionError(f"use at most {MAX_VARIABLE_QUANTIFIERS} quantifiers whose "
                               "count varies (*, +, ?, {m,n}): each multiplies the work on a "
                               "number that does not match")
    return pattern


def check_expression(text: str, field: str) -> re.Pattern[str]:
    """The expression compiled, if both Python and the proxies' PCRE read it alike.

    Raises DomainError on ``field`` saying what is refused and why.
    """
    try:
        return _compiled(text)
    except _ExpressionError as refusal:
        code = ErrorCode.REQUIRED if not text else ErrorCode.INVALID
        raise DomainError.single(code, str(refusal), field) from None


# Replacements -----------------------------------------------------------------------------------

COUNTRY_CODE = "_CC_"
AREA_CODE = "_AC_"
_REPLACEMENT_TOKEN = re.compile(r"\\[1-9]|_CC_|_AC_|[0-9A-Za-z+*#]")


def _replacement_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    index = 0
    while index < len(text):
        found = _REPLACEMENT_TOKEN.match(text, index)
        if found is None:
            raise _ExpressionError(_replacement_refusal(text[index:]))
        tokens.append(found.group())
        index = found.end()
    return tokens


def _replacement_refusal(rest: str) -> str:
    if rest.startswith("\\"):
        return "only \\1..\\9 (a group of the substitution expression) may follow a backslash"
    if rest.startswith("_"):
        return (f"an underscore may only be part of {COUNTRY_CODE} (country code) or "
                f"{AREA_CODE} (area code)")
    return (f"{rest[0]!r} is not allowed: use digits, letters, + * #, \\1..\\9, "
            f"{COUNTRY_CODE} and {AREA_CODE}")


def _group_reference(token: str) -> int | None:
    return int(token[1]) if token.startswith("\\") else None


def check_replacement(text: str, group_count: int, field: str = "replacement") -> str:
    """The replacement, if it only uses what the proxies expand and groups that exist."""
    try:
        if not text:
            raise _ExpressionError("write a replacement")
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise _ExpressionError(f"use at most {MAX_EXPRESSION_LENGTH} characters")
        for token in _replacement_tokens(text):
            number = _group_reference(token)
            if number is not None and number > group_count:
                groups = "1 group" if group_count == 1 else f"{group_count} groups"
                raise _ExpressionError(f"\\{number} refers to group {number}, but the "
                                       f"substitution expression has {groups}")
    except _ExpressionError as refusal:
        code = ErrorCode.REQUIRED if not text else ErrorCode.INVALID
        raise DomainError.single(code, str(refusal), field) from None
    return text


def substitute_placeholders(replacement: str, country_code: str, area_code: str) -> str:
    """The replacement with _CC_ and _AC_ written as given (digits, or proxy variables)."""
    values = {COUNTRY_CODE: country_code, AREA_CODE: area_code}
    return "".join(values.get(token, token) for token in _replacement_tokens(replacement))


def _expand(replacement: str, found: re.Match[str], country_code: str, area_code: str) -> str:
    values = {COUNTRY_CODE: country_code, AREA_CODE: area_code}
    parts: list[str] = []
    for token in _replacement_tokens(replacement):
        number = _group_reference(token)
        if number is None:
            parts.append(values.get(token, token))
        else:
            # A group that took no part in the match expands to nothing, as with PCRE.
            parts.append(found.group(number) or "")
    return "".join(parts)


# Rules -------------------------------------------------------------------------------------------


class RuleText(Protocol):
    """What the engine reads of a rule: a stored DialPlanRule, or one about to be saved."""

    @property
    def match_expression(self) -> str: ...

    @property
    def substitution_expression(self) -> str: ...

    @property
    def replacement(self) -> str: ...


@dataclass(frozen=True)
class CompiledRule:
    match: re.Pattern[str]
    substitution: re.Pattern[str]
    replacement: str


def check_rule(rule: RuleText) -> CompiledRule:
    """The rule compiled, or a DomainError listing every problem of its three fields."""
    errors = ErrorCollector()
    match = errors.check(check_expression, rule.match_expression, "match_expression")
    substitution = errors.check(check_expression, rule.substitution_expression,
                                "substitution_expression")
    # Group references are only checked against a substitution that compiled.
    groups = substitution.groups if substitution is not None else MAX_GROUPS
    replacement = errors.check(check_replacement, rule.replacement, groups)
    errors.raise_if_any()
    assert match is not None
    assert substitution is not None
    assert replacement is not None
    return CompiledRule(match=match, substitution=substitution, replacement=replacement)


_DIALLED = re.compile(rf"[0-9+*#]{{1,{MAX_NUMBER_LENGTH}}}")
_COUNTRY_CODE = re.compile(r"[1-9][0-9]{0,2}")
_AREA_CODE = re.compile(r"[0-9]{0,8}")


def check_call(number: str, country_code: str, area_code: str) -> None:
    """Refuse inputs the engine cannot take safely: a dialled string and the caller's codes."""
    errors = ErrorCollector()
    if not _DIALLED.fullmatch(number):
        errors.add(ErrorCode.INVALID, f"dial 1 to {MAX_NUMBER_LENGTH} digits, + * or #",
                   "number")
    if not _COUNTRY_CODE.fullmatch(country_code):
        errors.add(ErrorCode.INVALID, "a country calling code is 1 to 3 digits, without + "
                   "(1 for the US, 44 for the UK)", "country_code")
    if not _AREA_CODE.fullmatch(area_code):
        errors.add(ErrorCode.INVALID, "an area code is up to 8 digits", "area_code")
    errors.raise_if_any()


R = TypeVar("R", bound=RuleText)


@dataclass(frozen=True)
class Attempt(Generic[R]):
    rule: R
    matched: bool


@dataclass(frozen=True)
class SimulationResult(Generic[R]):
    """What the proxies do with a number: the rule used and the number they continue with."""

    matched_rule: R | None
    # The rewritten number; None when no rule applied or the applied rule failed.
    result: str | None
    tried: tuple[Attempt[R], ...]
    # Why the rule that matched produced nothing (its substitution found nothing).
    failure: str | None = None


def apply_rules(rules: Sequence[R], number: str, country_code: str,
                area_code: str = "") -> SimulationResult[R]:
    """Translate ``number`` as the proxies would with ``rules``, already in priority order.

    Every rule is checked first (DomainError when one is invalid), so a plan that
    passes here is one the proxies will load.
    """
    check_call(number, country_code, area_code)
    compiled = [check_rule(rule) for rule in rules]
    tried: list[Attempt[R]] = []
    for rule, checked in zip(rules, compiled, strict=True):
        matched = checked.match.search(number) is not None
        tried.append(Attempt(rule=rule, matched=matched))
        if not matched:
            continue
        found = checked.substitution.search(number)
        if found is None:
            return SimulationResult(
                matched_rule=rule, result=None, tried=tuple(tried),
                failure="the number matches the match expression but not the substitution "
                        "expression: the proxies leave it unchanged")
        result = _expand(checked.replacement, found, country_code, area_code)
        return SimulationResult(matched_rule=rule, result=result, tried=tuple(tried))
    return SimulationResult(matched_rule=None, result=None, tried=tuple(tried))
