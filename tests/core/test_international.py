from __future__ import annotations

import pytest

from core.international import Opening, destination_allowed, is_international


@pytest.mark.parametrize(
    ("destination", "home", "international"),
    [("+12092488700", "1", False), ("+442079460958", "1", True),
     ("+14165550123", "1", False),  # Canada shares calling code 1: domestic under NANP
     ("+33142685300", "33", False), ("not a number", "1", True)],
)
def test_international_is_another_calling_code(destination: str, home: str,
                                               international: bool):
    assert is_international(destination, home) is international


def test_domestic_is_always_allowed():
    assert destination_allowed("+12092488700", home_country_code="1", openings=[])


def test_international_is_closed_without_openings():
    assert not destination_allowed("+442079460958", home_country_code="1", openings=[])


def test_a_country_opening_opens_that_country_only():
    openings = [Opening(country="GB")]
    assert destination_allowed("+442079460958", home_country_code="1", openings=openings)
    assert not destination_allowed("+33142685300", home_country_code="1", openings=openings)


def test_a_prefix_opening_opens_numbers_under_it():
    openings = [Opening(prefix="+4420")]
    assert destination_allowed("+442079460958", home_country_code="1", openings=openings)
    assert not destination_allowed("+441632960961", home_country_code="1", openings=openings)
