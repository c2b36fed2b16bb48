"""Schemathesis against the OpenAPI schema: answers match the schema and client mistakes are never 5xx.

Schemathesis' own pytest plugin does not run on pytest 9, so each operation's Hypothesis strategy
(valid and invalid requests) is drawn here directly, with a bounded number of examples.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import shoplens as sl
from shoplens.serve import ServiceSettings, create_app
from tests.serve.conftest import Keys, auth

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.generation import GenerationMode  # noqa: E402 - after the importorskip

EXAMPLES_PER_OPERATION = 12


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_conforms_to_its_schema(shop: sl.Workspace, keys: Keys, mode: GenerationMode) -> None:
    app = create_app(shop.path, settings=ServiceSettings(max_upload_bytes=64 * 1024, write_wait_s=1))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /api/v1/tables", "POST /api/v1/ingest/{table}"}
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # nothing to get wrong (e.g. /healthz)
        check_operation(operation, mode, auth(keys.write))


def has_inputs(operation: schemathesis.APIOperation) -> bool:
    return bool(list(operation.iter_parameters()) or operation.body)


def check_operation(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str]) -> None:
    excluded = [schemathesis.checks.positive_data_acceptance]  # a file the schema allows may still be bad data

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    run()
