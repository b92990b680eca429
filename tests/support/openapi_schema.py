"""A small JSON Schema checker for the subset app/openapi/ uses (type, properties, required, items,
enum, minimum, additionalProperties, $ref into the spec, format date-time). It returns every problem
with its path, so a failing test says what is wrong where.

Stricter than JSON Schema on one point: an object schema with `properties` admits no other keys unless
it says `additionalProperties: true`, so a field the server adds without describing it fails the test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KNOWN = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minimum",
    "additionalProperties",
    "$ref",
    "format",
    "description",
    "default",
    "contentEncoding",
}


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def problems(spec: dict[str, Any], schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    schema = resolve(spec, schema)
    unknown = set(schema) - _KNOWN
    if unknown:
        return [f"{path}: the checker does not know {sorted(unknown)}"]
    found: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{path}: {value!r} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        found.append(f"{path}: {value!r} < {schema['minimum']}")
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            found.append(f"{path}: {value!r} is not a date-time")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{path}: '{key}' is required")
        for key, item in value.items():
            if key in properties:
                found += problems(spec, properties[key], item, f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += problems(spec, schema["additionalProperties"], item, f"{path}.{key}")
            elif properties and schema.get("additionalProperties") is not True:
                found.append(f"{path}: '{key}' is not described")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(spec, schema["items"], item, f"{path}[{index}]")
    return found


def refs(node: Any) -> list[str]:
    """Every `$ref` in a spec (to check that each resolves)."""
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []
