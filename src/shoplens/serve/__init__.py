"""The REST service and web dashboard (FastAPI + uvicorn). See docs/service.md."""

from shoplens.serve.app import create_app, run_server
from shoplens.serve.auth import KeyInfo, Role, create_key, list_keys, revoke_key
from shoplens.serve.registry import Capability, Page
from shoplens.serve.settings import ServiceSettings

__all__ = ["Capability", "KeyInfo", "Page", "Role", "ServiceSettings", "create_app", "create_key", "list_keys",
           "revoke_key", "run_server"]
