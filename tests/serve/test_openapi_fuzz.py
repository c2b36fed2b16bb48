"""Schemathesis against the OpenAPI schema, on a shop that has run every capability: answers match the
schema, client mistakes are never 5xx, and every request (the compute endpoints' included) is answered
within 5 s — with a read key and with an admin key (which may also upload).

Schemathesis' own pytest plugin does not run on pytest 9, so each operation's Hypothesis strategy
(valid and invalid requests) is drawn here directly, with a bounded number of examples.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

import shoplens as sl
from shoplens.serve import ServiceSettings, create_app, create_key
from tests.conftest import copy_workspace
from tests.serve.conftest import auth

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.core.parameters import ParameterLocation  # noqa: E402 - after the importorskip
from schemathesis.generation import GenerationMode  # noqa: E402

DEADLINE_S = 5.0  # per request, whatever the operation and its input
EXAMPLES_PER_OPERATION = 10
# Schemathesis' check wants valid data accepted (2xx); here a 400 may answer it: an uploaded file the schema
# allows may still be bad data, and a few rules span fields, which a schema cannot say (one language per text,
# the cost of explanations). What the schema allows is never a 422 (the schema and the validation disagree).
# Invalid data must be refused where the wire shows it: in a JSON body. An invalid query value may read as a
# valid one once serialized (a list of one string is that string), and the Authorization header it mutates is
# replaced by the key; the explicit tests cover the query (a repeated parameter is 422).
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance, schemathesis.checks.negative_data_rejection]


@pytest.fixture(scope="module")
def full_shop(demo_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """A copy of the demo shop (every capability run): the admin key uploads into it."""
    return copy_workspace(demo_shop, Path(tmp_path_factory.mktemp("fuzz")))


@pytest.fixture(scope="module")
def schema(full_shop: sl.Workspace) -> Iterator[schemathesis.BaseSchema]:
    app = create_app(full_shop.path, settings=ServiceSettings(max_upload_bytes=64 * 1024, write_wait_s=1))
    with TestClient(app) as client:  # load the review model and the search index once, as a running service has
        warm_up = client.post("/api/v1/reviews/predict", json={"texts": ["warm up"]},
                              headers=auth(create_key(full_shop, "read", "warm up")))
        assert warm_up.status_code == 200, warm_up.text
        warm_up = client.get("/api/v1/search", params={"q": "warm up"}, headers=auth(create_key(full_shop, "read",
                                                                                              "warm up search")))
        assert warm_up.status_code == 200, warm_up.text  # the index and its query encoder, loaded once
    yield schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("role", ["read", "admin"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_conforms_to_its_schema(full_shop: sl.Workspace, schema: schemathesis.BaseSchema, mode: GenerationMode,
                                    role: str) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert labels >= {"GET /api/v1/tables", "POST /api/v1/ingest/{table}", "POST /api/v1/pricing/optimize",
                      "POST /api/v1/pricing/plan-test", "POST /api/v1/reviews/predict",
                      "GET /api/v1/recommend/customers/{customer_id}", "GET /api/v1/forecast"}
    headers = auth(create_key(full_shop, role, f"fuzz {role} {mode}"))
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # nothing to get wrong (e.g. /healthz)
        check_operation(operation, mode, headers)


def has_inputs(operation: schemathesis.APIOperation) -> bool:
    return bool(list(operation.iter_parameters()) or operation.body)


def check_operation(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        started = time.perf_counter()
        response = case.call(headers=headers)
        seconds = time.perf_counter() - started
        case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)
        if mode == GenerationMode.NEGATIVE and negative_only_in_the_body(case):
            case.validate_response(response, checks=[schemathesis.checks.negative_data_rejection])
        answer = f"{operation.label}: {response.status_code} {response.text[:300]}"
        assert response.status_code < 500, answer
        assert mode == GenerationMode.NEGATIVE or response.status_code != 422, f"the schema allows it; {answer}"
        assert seconds < DEADLINE_S, f"{operation.label} took {seconds:.1f} s"

    run()


def negative_only_in_the_body(case: schemathesis.Case) -> bool:
    negative = {location for location, info in case.meta.components.items() if info.mode.is_negative}
    return negative == {ParameterLocation.BODY}
