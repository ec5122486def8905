"""The three verdicts a gate, a test or a whole analysis step can return."""

from enum import StrEnum


class Outcome(StrEnum):
    """Pass, fail or inconclusive; missing data and too little evidence are inconclusive."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
