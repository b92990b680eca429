"""The pieces every path of the description is built from: references, answers, parameters, and the
security an endpoint asks for, so that each endpoint's description states only what is its own."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
BEARER = [{"bearer": []}]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_answer(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return json_answer(ref("Error"), description)


OPERATOR_ERRORS = {
    "401": error("no token, or a token that is malformed, expired, badly signed or revoked"),
    "403": error("the token lacks role `operator` (or `admin`)"),
}


def query(name: str, description: str, schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema or {"type": "string"}, **extra}


def path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


def operator(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An endpoint for operators only: a bearer token with role `operator` or `admin`. An endpoint that
    refuses more than a missing role says so in a 403 of its own."""
    return {"summary": summary, "security": BEARER, "responses": {**OPERATOR_ERRORS, **responses}, **extra}


def user(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An endpoint for any user with a token (a guest's too), some of whose items are theirs alone."""
    errors = {"401": OPERATOR_ERRORS["401"], "403": error("not the item's uploader, nor an operator")}
    return {"summary": summary, "security": BEARER, "responses": {**responses, **errors}, **extra}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}
