"""The HTTP API under /v1 (FastAPI). `create_app` assembles it; each module adds the routes of one
area. The OpenAPI document it serves (/openapi.json) is the contract."""

from hub.api.app import create_app
from hub.api.context import ApiContext, problem

__all__ = ["ApiContext", "create_app", "problem"]
