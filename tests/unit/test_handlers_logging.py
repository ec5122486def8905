"""kopf's per-event success line of react is dropped unless debugging."""

from __future__ import annotations

import logging

from roost.handlers import QuietSuccess


def _record(message: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_react_success_lines_are_dropped_unless_debugging() -> None:
    quiet = QuietSuccess()
    kopf_logger = logging.getLogger("kopf.objects")
    old = kopf_logger.level
    try:
        kopf_logger.setLevel(logging.INFO)
        assert not quiet.filter(_record("Handler 'react' succeeded."))
        assert quiet.filter(_record("Handler 'validate_policy' succeeded."))
        assert quiet.filter(_record("Handler 'react' failed with an exception. Will retry."))
        assert quiet.filter(_record("Handler 'react' succeeded.", logging.WARNING))
        assert quiet.filter(_record({"not": "a string"}))
        kopf_logger.setLevel(logging.DEBUG)
        assert quiet.filter(_record("Handler 'react' succeeded."))
    finally:
        kopf_logger.setLevel(old)
