"""SourceStatus's own record of a success or a failure: the one way every source reports (service/sources.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.sources import SourceStatus

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_a_failure_keeps_one_line_and_when():
    st = SourceStatus("grid")
    st.failed(ValueError("HTTP 500 from the API\n<html>a page of HTML</html>" + "x" * 400), NOW, stale=True)
    assert (st.ok, st.stale, st.last_error, st.last_error_at) == (False, True, "HTTP 500 from the API", NOW)
    st.failed("y" * 400, NOW + timedelta(minutes=1))
    assert st.last_error == "y" * 300 and st.stale, "stale unchanged when not given"


def test_a_success_keeps_the_last_error_on_record_unless_told():
    st = SourceStatus("calendar")
    st.failed("timed out", NOW, stale=True)
    st.succeeded(NOW + timedelta(minutes=14), data_at=NOW + timedelta(minutes=13))
    assert (st.ok, st.stale, st.last_success, st.data_at) == (True, False, NOW + timedelta(minutes=14),
                                                             NOW + timedelta(minutes=13))
    assert (st.last_error, st.last_error_at) == ("timed out", NOW), "the health table still shows it"
    st.succeeded(forget_error=True, stale=True)
    assert (st.ok, st.stale, st.last_error, st.last_success) == (True, True, None, NOW + timedelta(minutes=14))


def test_an_error_noted_does_not_make_the_source_fail():
    st = SourceStatus("vehicle")
    st.succeeded(NOW)
    st.noted("the car refuses unsigned commands", NOW)
    assert st.ok and st.last_error == "the car refuses unsigned commands" and st.last_error_at == NOW
