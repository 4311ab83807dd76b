"""How the event sink words a failed task: a Kubernetes API Status body said in words, tracebacks cut."""

from __future__ import annotations

from jeju_play.events import _failure_text

STATUS = ('Failed to patch object: {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", '
          '"message": "the server has received too many requests and has asked us to try again later", '
          '"reason": "TooManyRequests", "code": 429}')


def test_a_status_body_is_said_in_words() -> None:
    assert _failure_text(STATUS) == ("Failed to patch object: the Kubernetes API answered 429 TooManyRequests: the "
                                     "server has received too many requests and has asked us to try again later")


def test_text_that_only_looks_like_a_status_is_left_as_it_is() -> None:
    broken = 'Failed to patch object: {"kind": "Status", "code": 4'
    assert _failure_text(broken) == broken
    assert _failure_text("plain failure\nOriginal traceback:\n  boom") == "plain failure"
