"""The publish API: backends store and deliver events with a service token (docs/server-api.md)."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import BEARER, body, error, json_answer, path, ref

_EVENT_FIELDS: dict[str, Any] = {
    "event": {"type": "string", "minLength": 1, "maxLength": 100, "description": "the event's name"},
    "data": {"description": "any JSON value (null included; the field must be present)"},
    "id": {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "description": "the operation's id: a retry with the same id (same service, same channel) stores "
        "nothing and answers the stored event",
    },
}
PUBLICATION = {
    "type": "object",
    "required": ["event", "data"],
    "properties": _EVENT_FIELDS,
    "additionalProperties": False,
    "examples": [{"event": "invoice_paid", "data": {"invoice": "inv-42", "amount": 1200}, "id": "inv-42-paid"}],
}
MULTI_PUBLICATION = {
    "type": "object",
    "required": ["channels", "event", "data"],
    "properties": {
        "channels": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "the channels, at most `COLLAB_PUBLISH_MAX_CHANNELS` (default 100)",
        },
        **_EVENT_FIELDS,
    },
    "additionalProperties": False,
    "examples": [
        {
            "channels": ["general", "kanban:release"],
            "event": "deploy",
            "data": {"version": "2.4.1"},
            "id": "deploy-2.4.1",
        }
    ],
}
_ERRORS = {
    "400": error("not JSON, a bad or unknown field, a bad channel name, a kind that takes no events"),
    "401": error("no token, or a token that is malformed, expired, badly signed or revoked"),
    "403": error("the token lacks role `service`, or a channel only the server writes (monitor, media, audit, dm)"),
    "409": error("the op id was used for another event (that one is kept)"),
    "413": error("the body is over `COLLAB_PUBLISH_MAX_BYTES` (default 256 KiB)"),
    "429": error("over the service's rate (`rate_limited`; `Retry-After` says when)"),
}


def _service(
    summary: str, description: str, request: dict[str, Any], answer: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        **extra,
        "summary": summary,
        "description": description,
        "security": BEARER,
        "requestBody": body(request),
        "responses": {
            "201": json_answer(answer, "stored and delivered"),
            "200": json_answer(answer, "a retry: stored before, nothing stored now"),
            **_ERRORS,
        },
    }


PATHS: dict[str, Any] = {
    "/api/channels/{channel}/events": {
        "post": _service(
            "publish an event on a channel (service token)",
            "Stored as an `event` event and delivered to the channel's sockets on every server process, "
            "exactly as a socket's `publish`. A channel that does not exist is made (public).",
            PUBLICATION,
            ref("Event"),
            parameters=[path("channel", "the channel's name")],
        ),
    },
    "/api/events": {
        "post": _service(
            "publish one event on several channels (service token)",
            "One stored event per channel, in the order named; checked as a whole first (one bad channel: "
            "nothing stored).",
            MULTI_PUBLICATION,
            {
                "type": "object",
                "required": ["events"],
                "properties": {"events": {"type": "array", "items": ref("Event")}},
            },
        )
    },
    "/api/broadcast": {
        "post": _service(
            "an event every /ws socket gets (service token)",
            "Stored on channel `broadcast:all` and delivered to every `/ws` socket of every server process, "
            "whatever channels it is in; a socket that was away reads it back by subscribing to "
            "`broadcast:all` with `since`. The pages show it as an announcement, as text: `data.text`, else "
            "`data.message`, else `data` when a string, else `data` as compact JSON, else the event's name.",
            PUBLICATION,
            ref("Event"),
        )
    },
}
