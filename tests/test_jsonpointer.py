"""JSON pointers as RFC 6901 writes them: built for findings, parsed and applied by fixes."""

from __future__ import annotations

import pytest

from mar_lint.jsonpointer import PointerError, json_pointer, parse, resolve, set_value


def test_tokens_escape_and_unescape_in_the_rfc_order():
    assert json_pointer("a/b", "m~n", 0) == "/a~1b/m~0n/0"
    assert parse("/a~1b/m~0n/0") == ["a/b", "m~n", "0"]
    assert parse("/~01") == ["~1"]  # "~0" then "1": never "/"
    assert parse("") == [] and parse("/") == [""]
    for name in ["~1", "/~0", "~", "a/b~c", ""]:
        assert parse(json_pointer(name)) == [name]


@pytest.mark.parametrize("pointer", ["a", "/~2", "/a~"])
def test_malformed_pointers_are_refused(pointer):
    with pytest.raises(PointerError):
        parse(pointer)


DOCUMENT = {"list": [10, 11, 12], "": "empty key", "01": "a key"}


@pytest.mark.parametrize(
    ("pointer", "value"),
    [("/list/0", 10), ("/list/2", 12), ("/", "empty key"), ("/01", "a key"), ("", DOCUMENT)],
)
def test_resolve(pointer, value):
    assert resolve(DOCUMENT, pointer) == value


@pytest.mark.parametrize(
    "pointer",
    [
        "/list/01",
        "/list/00",
        "/list/-",
        "/list/3",
        "/list/-1",
        "/list/+1",
        "/list/ 1",
        "/list/1.0",
        "/missing",
    ],
)
def test_no_value_at_a_near_miss(pointer):
    with pytest.raises(PointerError):
        resolve(DOCUMENT, pointer)


def test_set_value_writes_only_where_the_pointer_names():
    document = {"list": [10, 11, 12]}
    assert set_value(document, "/list/1", 5) == {"list": [10, 5, 12]}
    assert set_value(document, "/list/-", 13) == {"list": [10, 5, 12, 13]}
    assert set_value(document, "/new", [1]) == {"list": [10, 5, 12, 13], "new": [1]}
    for pointer in ["/list/01", "/list/4", "/list/-1", "/missing/x"]:
        with pytest.raises(PointerError):
            set_value(document, pointer, 0)
    assert document == {"list": [10, 5, 12, 13], "new": [1]}
    assert set_value(document, "", 7) == 7
