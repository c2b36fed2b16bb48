"""``/healthz`` (the process answers, and which model versions it serves) and ``/readyz`` (the warehouse opens
read-only; with ``warm=true``, also the start-up warm-up has loaded every model); both open."""

from __future__ import annotations

import duckdb
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from shoplens import __version__
from shoplens.errors import ShoplensError
from shoplens.serve.deps import ServiceState, get_state
from shoplens.serve.errors import one_line
from shoplens.serve.live import live_models
from shoplens.serve.models import Health, ModelHealth, Readiness
from shoplens.serve.registry import Capability
from shoplens.serve.warehouse import Warehouse, ping
from shoplens.workspace import Workspace

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up; the versions of the models it serves")
def healthz(state: ServiceState = Depends(get_state)) -> Health:
    models = live_models(state.workspace_path).states()
    return Health(version=__version__, models=[ModelHealth(**vars(m)) for m in models])


@router.get("/readyz", response_model=Readiness, summary="The warehouse can be opened read-only",
            responses={503: {"model": Readiness}})
def readyz(warm: bool = Query(False, description="also wait for the start-up warm-up: 503 until every "
                                                "capability's models are loaded (for a load balancer)"),
           state: ServiceState = Depends(get_state)) -> Readiness | JSONResponse:
    warmed = state.warm_up.done.is_set()
    try:
        warehouse = Warehouse(Workspace.open(state.workspace_path), state.gate, state.settings.write_wait_s)
        with warehouse.read() as con:
            ping(con)
    except (ShoplensError, duckdb.Error) as exc:
        return _unavailable(state, one_line(str(exc)), warmed)
    if warm and not warmed:
        return _unavailable(state, f"warming up: loading the {state.warm_up.loading or 'first'} models", warmed)
    return Readiness(status="ready", warm=warmed)


def _unavailable(state: ServiceState, reason: str, warmed: bool) -> JSONResponse:
    body = Readiness(status="unavailable", reason=reason, warm=warmed)
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": str(state.settings.retry_after_s)})


capability = Capability(name="health", router=router)
