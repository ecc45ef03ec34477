"""The dial-plan engine: the dialect it accepts, and how it rewrites numbers."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from core.dialplan_engine import (
    MAX_GROUPS,
    apply_rules,
    check_expression,
    check_replacement,
    check_rule,
    substitute_placeholders,
)
from core.errors import DomainError


@dataclass(frozen=True)
class Rule:
    match_expression: str
    substitution_expression: str
    replacement: str


SEVEN_DIGITS = Rule(r"^[1-9][0-9]{6}$", r"([1-9][0-9]{6})", r"+1_AC_\1")
TEN_DIGITS = Rule(r"^[2-9][0-9]{9}$", r"^([2-9][0-9]{9})$", r"+1\1")
INTERNATIONAL_011 = Rule(r"^011[1-9][0-9]{6,14}$", r"^011([1-9][0-9]{6,14})$", r"+\1")
INTERNATIONAL_00 = Rule(r"^00[1-9][0-9]{6,14}$", r"^00([1-9][0-9]{6,14})$", r"+\1")
NORTH_AMERICA = [SEVEN_DIGITS, TEN_DIGITS, INTERNATIONAL_011, INTERNATIONAL_00]


def _refusal(text: str) -> str:
    with pytest.raises(DomainError) as raised:
        check_expression(text, "match_expression")
    [error] = raised.value.errors
    assert error.field == ("match_expression",)
    return error.message


# Rewriting ---------------------------------------------------------------------------------


def test_the_seed_example_seven_digit_dialling():
    result = apply_rules([SEVEN_DIGITS], "2488700", "1", "209")
    assert result.result == "+12092488700"
    assert result.matched_rule is SEVEN_DIGITS
    assert [(attempt.rule, attempt.matched) for attempt in result.tried] == [(SEVEN_DIGITS, True)]


def test_ten_digit_dialling_skips_the_rules_before_it():
    result = apply_rules(NORTH_AMERICA, "2095551234", "1", "209")
    assert result.result == "+12095551234"
    assert result.matched_rule is TEN_DIGITS
    assert [attempt.matched for attempt in result.tried] == [False, True]


@pytest.mark.parametrize(("dialled", "expected"), [
    ("011442079460000", "+442079460000"),
    ("00442079460000", "+442079460000"),
    ("0114930123456", "+4930123456"),
])
def test_international_prefixes_become_a_plus(dialled: str, expected: str):
    assert apply_rules(NORTH_AMERICA, dialled, "1", "209").result == expected


def test_no_rule_matches_leaves_no_result():
    result = apply_rules(NORTH_AMERICA, "911", "1", "209")
    assert result.matched_rule is None
    assert result.result is None
    assert [attempt.matched for attempt in result.tried] == [False] * 4


def test_country_and_area_codes_come_from_the_caller():
    rule = Rule(r"^0([1-9][0-9]{6})$", r"^0([1-9][0-9]{6})$", r"+_CC__AC_\1")
    assert apply_rules([rule], "02079460", "44", "20").result == "+44202079460"


def test_the_result_is_the_replacement_alone_as_on_the_proxies():
    # Kamailio builds the output from the replacement only, not from the
    # dialled string with the matched part replaced.
    rule = Rule(r"^9", r"^9([0-9]+)$", r"\1")
    assert apply_rules([rule], "95551234", "1").result == "5551234"
    partial = Rule(r"^9", r"^9([0-9]{3})", r"\1")
    assert apply_rules([partial], "95551234", "1").result == "555"


def test_match_expressions_are_searched_not_anchored():
    unanchored = Rule(r"555", r"(.*)", r"\1")
    assert apply_rules([unanchored], "12095551234", "1").matched_rule is unanchored


def test_a_rule_whose_substitution_finds_nothing_fails_the_translation():
    rule = Rule(r"^[0-9]+$", r"^\*([0-9]+)$", r"\1")
    later = Rule(r".", r"(.*)", r"\1")
    result = apply_rules([rule, later], "1234", "1")
    assert result.matched_rule is rule
    assert result.result is None
    assert "substitution" in result.failure
    assert len(result.tried) == 1


def test_a_group_that_did_not_take_part_expands_to_nothing():
    rule = Rule(r"^\+?[0-9]+$", r"^(\+)?([0-9]+)$", r"\1\2")
    assert apply_rules([rule], "12345", "1").result == "12345"


def test_placeholders_can_be_written_as_proxy_variables():
    assert substitute_placeholders(r"+_CC__AC_\1", "$avp(cc)", "$avp(ac)") == (
        r"+$avp(cc)$avp(ac)\1")


@pytest.mark.parametrize(("number", "country_code", "area_code", "field"), [
    ("", "1", "209", ("number",)),
    ("555 1234", "1", "209", ("number",)),
    ("1" * 33, "1", "209", ("number",)),
    ("5551234", "+1", "209", ("country_code",)),
    ("5551234", "0", "209", ("country_code",)),
    ("5551234", "1", "2o9", ("area_code",)),
])
def test_inputs_are_checked(number: str, country_code: str, area_code: str,
                            field: tuple[str, ...]):
    with pytest.raises(DomainError) as raised:
        apply_rules([SEVEN_DIGITS], number, country_code, area_code)
    assert [error.field for error in raised.value.errors] == [field]


def test_an_invalid_rule_is_never_applied():
    with pytest.raises(DomainError):
        apply_rules([Rule(r"(a+)+", r"(.*)", r"\1")], "1234", "1")


# The dialect ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    r"^[1-9][0-9]{6}$",
    r"^(011|00)([1-9]\d{6,14})$",
    r"^\+?1?([2-9]\d{9})$",
    r"^\*[0-9]{2}#?$",
    r"^(?:00|\+)(\d+)$",
    r"^[^0]\d*?$",
    r"(\d{3})+",
    r"(1|23)+",
    r"^\d{3}-?\d{4}$",
    r".",
])
def test_the_common_subset_is_accepted(text: str):
    assert check_expression(text, "match_expression").pattern == text


@pytest.mark.parametrize(("text", "says"), [
    (r"^(?=1)\d+$", "lookahead"),
    (r"^(?!1)\d+$", "lookahead"),
    (r"(?<=0)1", "lookbehind"),
    (r"(?<!0)1", "lookbehind"),
    (r"(?P<area>\d{3})", "named groups"),
    (r"(?<area>\d{3})", "named groups"),
    (r"(\d)\1", "back-references"),
    (r"(?i)abc", "inline flags"),
    (r"^\d+\Z", "\\Z"),
    (r"\A\d+", "\\A"),
    (r"\p{N}+", "unicode"),
    (r"\d++", "possessive"),
    (r"(?>\d+)", "atomic"),
    (r"\x41", "\\x"),
    (r"[[:digit:]]", "POSIX"),
    (r"[0-9&&[^5]]", "character class"),
    (r"\d{,3}", "{0,n}"),
    (r"\d{2", "count"),
    (r"\d{500}", "counts above"),
    (r"(a+)+", "exponential"),
    (r"(\d*)*", "exponential"),
    (r"(a?)+", "exponential"),
    (r"(a|aa)+", "alternatives"),
    (r"(1|1)+", "alternatives"),
    (r"\d*\d*\d*\d*\d*", "quantifiers"),
    ("^1 2$", "without spaces"),
    ("^é$", "ASCII"),
    ("(", "not a valid regular expression"),
    ("*1", "not a valid regular expression"),
    ("(((((((((((1)))))))))))", f"at most {MAX_GROUPS} groups"),
    ("1" * 257, "at most 256"),
    ("\\", "lone backslash"),
])
def test_what_is_refused_and_why(text: str, says: str):
    assert says in _refusal(text)


def test_an_empty_expression_is_required():
    with pytest.raises(DomainError) as raised:
        check_expression("", "substitution_expression")
    [error] = raised.value.errors
    assert (error.code, error.field) == ("REQUIRED", ("substitution_expression",))


def test_accepted_expressions_fail_fast_on_long_non_matching_numbers():
    pattern = check_expression(r"^(\d{3})+(1|23)+\d*$", "match_expression")
    started = time.monotonic()
    assert pattern.search("1" * 31 + "x") is None
    assert time.monotonic() - started < 0.5


# Replacements ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [r"+1_AC_\1", r"+_CC__AC_\1", "*98#", r"\1\2", "+12095550100"])
def test_replacements_accepted(text: str):
    assert check_replacement(text, 2) == text


@pytest.mark.parametrize(("text", "says"), [
    (r"+1_AC\1", "underscore"),  # the seed's spelling: the placeholder is _AC_
    (r"\3", "\\3 refers to group 3, but the substitution expression has 1 group"),
    (r"\0", "only \\1..\\9"),
    (r"\n", "only \\1..\\9"),
    ("$avp(ac)", "'$' is not allowed"),
    ("+1 209", "' ' is not allowed"),
    ("", "write a replacement"),
])
def test_replacements_refused(text: str, says: str):
    with pytest.raises(DomainError) as raised:
        check_replacement(text, 1)
    [error] = raised.value.errors
    assert error.field == ("replacement",)
    assert says in error.message


def test_a_rule_reports_every_field_at_once():
    with pytest.raises(DomainError) as raised:
        check_rule(Rule(r"(?=1)", r"(a+)+", r"\5"))
    fields = [error.field for error in raised.value.errors]
    # The replacement is not judged against a substitution that did not compile.
    assert fields == [("match_expression",), ("substitution_expression",)]

    with pytest.raises(DomainError) as raised:
        check_rule(Rule(r"^1", r"^(1)", r"\2"))
    assert [error.field for error in raised.value.errors] == [("replacement",)]
