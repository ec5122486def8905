"""The names Roost derives from a ModelDeployment's name never collide: issue #23 found a
62-character name whose Services, HPAs and Deployments were cut to the same 63
characters. Names longer than 52 characters are now refused at admission (the CRD
and ``roost validate``) and by the operator for objects an older CRD admitted."""

from __future__ import annotations

import pytest

from roost.api.base import MODEL_DEPLOYMENT_NAME_MAX
from roost.reconciler import _name_problem
from roost.workloads import Owner

REVISIONS = ("0123456789", "abcdef0123")


def _derived(owner: Owner) -> list[str]:
    return [
        owner.service_name(),
        owner.service_name("stable"),
        owner.service_name("canary"),
        owner.hpa_name("stable"),
        owner.hpa_name("canary"),
        *(owner.deployment_name(rev) for rev in REVISIONS),
    ]


def test_the_longest_admitted_name_derives_distinct_uncut_names() -> None:
    name = "m" * MODEL_DEPLOYMENT_NAME_MAX
    owner = Owner(namespace="ns", name=name, uid="u")
    derived = _derived(owner)
    assert all(len(n) <= 63 for n in derived)
    assert len(set(derived[:3])) == 3  # Services
    assert derived[3] != derived[4]  # HPAs
    assert derived[5] != derived[6]  # Deployments of two revisions
    assert derived[5] == f"{name}-{REVISIONS[0]}"  # nothing was cut


def test_the_name_the_issue_found_would_collide() -> None:
    owner = Owner(namespace="ns", name="m" * 62, uid="u")
    assert owner.service_name() == owner.service_name("stable") == owner.service_name("canary")


@pytest.mark.parametrize("name", ["m" * 53, "m" * 62, "2fraud-scorer"])
def test_the_operator_refuses_a_name_an_older_crd_admitted(name: str) -> None:
    problem = _name_problem(name)
    assert problem is not None
    assert problem.startswith("metadata.name: ")


@pytest.mark.parametrize("name", ["fraud-scorer", "m" * 52, "a"])
def test_the_operator_takes_a_name_the_crd_admits(name: str) -> None:
    assert _name_problem(name) is None
