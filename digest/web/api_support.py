"""The JSON API's plumbing: who is calling, and how a refusal is answered.

Authentication runs as a dependency, so an anonymous or read-only caller is refused
(401, 403) before the body is looked at. Service errors become the same responses
FastAPI gives for a bad field: 422 with ``detail: [{"loc", "msg", "type"}]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from digest.services.console import Conflict, ManagementError, NotFound
from digest.services.console.admins import ROLES
from digest.services.console.audit import act_as
from digest.services.database import unit_of_work
from digest.web.api_replies import Problem
from digest.web.auth import Caller, api_caller, require_change
from digest.web.pages import database

bearer = HTTPBearer(
    auto_error=False,
    description="An API key made with `digest admin api-key NAME --role operator` "
    "(or `--role editor`, which may read and pin or hold articles). A signed-in "
    "admin's session cookie is accepted for reading.",
)


def reader(
    request: Request,
    _key: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller:
    """Any valid API key or admin session (401 otherwise)."""
    with unit_of_work(database(request)) as session:
        return api_caller(request, session)


def operator(request: Request, caller: Annotated[Caller, Depends(reader)]) -> Caller:
    """A caller whose role may change data (403 for editors)."""
    require_change(caller)
    request.state.changer = caller
    return caller


def personal_data(caller: Annotated[Caller, Depends(reader)]) -> Caller:
    """A caller who may read readers' personal data: operators (403 for editors,
    who preview and pin without it)."""
    if not caller.may_change:
        raise HTTPException(403, f"the {caller.role} role cannot read readers' personal data")
    return caller


def editor(request: Request, caller: Annotated[Caller, Depends(reader)]) -> Caller:
    """A caller whose role may pin and hold articles: editors and operators alike,
    since editorial control is the editors' job (403 for any other role)."""
    if caller.role not in ROLES:
        raise HTTPException(403, f"the {caller.role} role cannot pin or hold articles")
    request.state.changer = caller
    return caller


@contextmanager
def changing(request: Request) -> Iterator[Session]:
    """A unit of work whose changes the audit log records as the caller's, who was
    settled by the route's ``Operator`` or ``Editor`` dependency."""
    caller: Caller = request.state.changer
    with unit_of_work(database(request)) as session:
        act_as(session, caller.who, "api")
        yield session


Reader = Annotated[Caller, Depends(reader)]
Operator = Annotated[Caller, Depends(operator)]
PersonalData = Annotated[Caller, Depends(personal_data)]
Editor = Annotated[Caller, Depends(editor)]

_REFUSALS: dict[int, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API key or admin session."},
    403: {"model": Problem, "description": "The caller's role may not do this."},
    404: {"model": Problem, "description": "No such thing."},
    409: {"model": Problem, "description": "It clashes with what is stored."},
}


def refusals(*codes: int, forbidden: str = "") -> dict[int | str, dict[str, Any]]:
    """The error responses a route declares: 401 always, and ``codes``; ``forbidden``
    says who gets 403 where that is not "anyone but an operator"."""
    declared: dict[int | str, dict[str, Any]] = {code: _REFUSALS[code] for code in (401, *codes)}
    if forbidden:
        declared[403] = {**_REFUSALS[403], "description": forbidden}
    return declared


class SafeJSONResponse(JSONResponse):
    """JSON in ASCII: an error may quote input holding lone surrogates, which UTF-8
    cannot encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def invalid(errors: list[dict[str, Any]]) -> Response:
    """422 naming each bad field. The rejected input is not echoed: it may be huge,
    or not representable in JSON at all (an infinite number)."""
    detail = [{"loc": list(e["loc"]), "msg": str(e["msg"]), "type": str(e["type"])} for e in errors]
    return SafeJSONResponse({"detail": detail}, status_code=422)


class ApiRoute(APIRoute):
    """A route whose service errors become HTTP answers: NotFound 404, Conflict 409,
    any other ManagementError 422 (its field placed in the query, the path or the body,
    wherever the route takes a parameter of that name)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        places = {p.name: "query" for p in self.dependant.query_params}
        places.update({p.name: "path" for p in self.dependant.path_params})

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return invalid(list(exc.errors()))
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                # FastAPI's answer to a body that is not UTF-8; any other malformed
                # JSON is a 422, and so is this.
                return invalid(
                    [{"loc": ["body"], "msg": "the body is not UTF-8", "type": "json_invalid"}]
                )
            except NotFound as exc:
                return SafeJSONResponse({"detail": str(exc)}, status_code=404)
            except Conflict as exc:
                return SafeJSONResponse({"detail": str(exc)}, status_code=409)
            except ManagementError as exc:
                return invalid(
                    [
                        {
                            "loc": (places.get(str(loc[0]), "body"), *loc),
                            "msg": message,
                            "type": "value_error",
                        }
                        for loc, message in exc.problems
                    ]
                )

        return answer
