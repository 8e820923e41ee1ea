"""Errors as JSON of one stable shape: {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


ERROR_RESPONSES = {status: {"model": ErrorBody, "description": text} for status, text in (
    (400, "The body is not valid JSON"), (401, "No valid token"), (403, "Role or country scope does not allow it"), (404, "Not found"),
    (409, "The state does not allow it"), (422, "Invalid request"), (429, "Rate limited"),
    (503, "Query timed out or database unavailable"))}


class ApiError(Exception):
    """An error the client is told about: HTTP status, a stable code, a short message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def unauthenticated(message: str = "a valid API token is required") -> ApiError:
    return ApiError(401, "unauthenticated", message, {"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _json(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _timed_out(exc: OperationalError) -> bool:
    return type(exc.orig).__name__ == "QueryCanceled"


def allowed_methods(request: Request) -> list[str]:
    """The methods the app's routes accept for the request's path."""
    methods: set[str] = set()
    for route in request.app.routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the API can raise to the JSON shape (HTML pages get their own in the dashboard)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        handler = getattr(request.app.state, "page_error", None)
        if handler is not None and not request.url.path.startswith("/api/"):
            return handler(request, exc)
        return _json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _json(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}"[:300])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route matched
            headers["Allow"] = ", ".join(allowed_methods(request))
        return _json(exc.status_code, code, str(exc.detail)[:300], headers or None)

    @app.exception_handler(OperationalError)
    async def _db(request: Request, exc: OperationalError):
        if _timed_out(exc):
            return _json(503, "query_timeout", "the query took too long; narrow the filters")
        log.error("database_error", path=request.url.path, error=type(exc.orig).__name__)
        return _json(503, "database_unavailable", "the database is unavailable")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError):
        return _json(422, "invalid_request", "a value is out of range for the database")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.error("unhandled_error", path=request.url.path, error=type(exc).__name__)
        return _json(500, "internal_error", "internal error")
