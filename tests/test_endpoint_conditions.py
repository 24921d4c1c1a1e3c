"""EndpointConditions read as the API reference (discovery.k8s.io/v1) defines them, for every
combination of nil, true and false:

- ready nil: "consumers should interpret this unknown state as ready", but "ready should never
  be "true" for terminating endpoints"; a set value is kept (the reference allows ``true`` on a
  terminating endpoint when readiness is explicitly overridden, as publishNotReadyAddresses does);
- serving nil: "consumers should defer to the ready condition";
- terminating nil: "the endpoint is not terminating".

The expected column is written out row by row, not computed, so a rule changed in the code
shows up here as a failing row.
"""

from __future__ import annotations

import pytest

from dashboard.slices import conditions

N = None  # nil: the field is absent
TABLE = [
    # (ready, serving, terminating) as sent -> (ready, serving, terminating) as read
    ((N, N, N), (True, True, False)),
    ((N, N, True), (False, False, True)),
    ((N, N, False), (True, True, False)),
    ((N, True, N), (True, True, False)),
    ((N, True, True), (False, True, True)),
    ((N, True, False), (True, True, False)),
    ((N, False, N), (True, False, False)),
    ((N, False, True), (False, False, True)),
    ((N, False, False), (True, False, False)),
    ((True, N, N), (True, True, False)),
    ((True, N, True), (True, True, True)),
    ((True, N, False), (True, True, False)),
    ((True, True, N), (True, True, False)),
    ((True, True, True), (True, True, True)),
    ((True, True, False), (True, True, False)),
    ((True, False, N), (True, False, False)),
    ((True, False, True), (True, False, True)),
    ((True, False, False), (True, False, False)),
    ((False, N, N), (False, False, False)),
    ((False, N, True), (False, False, True)),
    ((False, N, False), (False, False, False)),
    ((False, True, N), (False, True, False)),
    ((False, True, True), (False, True, True)),
    ((False, True, False), (False, True, False)),
    ((False, False, N), (False, False, False)),
    ((False, False, True), (False, False, True)),
    ((False, False, False), (False, False, False)),
]
NAMES = ("ready", "serving", "terminating")


def _sent(value: bool | None) -> str:
    return "nil" if value is None else str(value).lower()


def _sentence(sent: tuple, read: tuple) -> str:
    given = ", ".join(f"{name} {_sent(value)}" for name, value in zip(NAMES, sent, strict=True))
    said = ", ".join(name if value else f"not {name}" for name, value in zip(NAMES, read, strict=True))
    return f"{given} reads as {said}"


def test_the_table_covers_each_of_the_27_combinations_once():
    assert len({sent for sent, _ in TABLE}) == 27 == 3**3


@pytest.mark.parametrize(("sent", "read"), TABLE, ids=[_sentence(sent, read) for sent, read in TABLE])
def test_conditions_read_as_the_api_reference_defines_them(sent, read):
    raw = {name: value for name, value in zip(NAMES, sent, strict=True) if value is not None}
    assert tuple(conditions(raw)) == read


@pytest.mark.parametrize(("sent", "read"), TABLE[:9], ids=[_sentence(s, r) for s, r in TABLE[:9]])
def test_an_explicit_null_and_a_value_that_is_not_a_boolean_read_as_nil(sent, read):
    as_null = dict(zip(NAMES, sent, strict=True))
    as_text = {name: "true" if value is None else value for name, value in as_null.items()}
    assert tuple(conditions(as_null)) == tuple(conditions(as_text)) == read


def test_no_conditions_at_all_read_as_ready_serving_and_not_terminating():
    assert tuple(conditions(None)) == (True, True, False)
