"""docs/api.md, rendered from the OpenAPI document (bot/api/openapi.py), so the page and the served
document cannot drift apart: `python -m bot.api.reference > docs/api.md` writes it, and a test checks
the file is what this renders."""

from __future__ import annotations

import json
import sys
from typing import Any

from bot.api.json import ERROR_CODES
from bot.api.openapi import document
from bot.meta_errors import CODES, REASONS

COMMAND = "python -m bot.api.reference > docs/api.md"


def markdown(doc: dict[str, Any] | None = None) -> str:
    doc = doc or document()
    lines = [
        "# REST API reference",
        "",
        f"<!-- Made from bot/api/openapi.py by `{COMMAND}`; edit that, not this. -->",
        "",
        f"The same reference as an OpenAPI {doc['openapi']} document: `GET /api/v1/openapi.json`, "
        "open without a token (load it into any OpenAPI tool to get a client).",
        "",
        doc["info"]["description"].rstrip(),
        "",
        "## Routes",
        "",
        "| route | what |",
        "| --- | --- |",
    ]
    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    for path, method, op in operations:
        lines.append(f"| [`{method.upper()} {path}`](#{op['operationId'].lower()}) | {op['summary']} |")
    lines += ["", "## Errors every route may answer", ""]
    for answer in doc["components"]["responses"].values():
        example = answer["content"]["application/json"]["example"]
        status = next(s for s, c in ERROR_CODES.items() if c == example["code"])
        lines.append(f"- **{status}** `{example['code']}`: {answer['description']}: `{json.dumps(example)}`")
    for tag in doc["tags"]:
        lines += ["", f"## {tag['name'].capitalize()}", "", tag["description"]]
        for path, method, op in operations:
            if tag["name"] in op["tags"]:
                lines += _operation(doc, path, method, op)
    lines += _send_failures()
    lines += ["", "## Shapes", "", "The objects the routes answer with, by the names used above."]
    for name, schema in doc["components"]["schemas"].items():
        lines += ["", f"### {name}", ""]
        if schema.get("description"):
            lines += [schema["description"], ""]
        lines += _fields(schema)
    return "\n".join(lines).rstrip() + "\n"


def _send_failures() -> list[str]:
    """The reasons a failed message's `error` names (bot/meta_errors.py), with Meta's codes for each."""
    codes: dict[str, list[str]] = {}
    for (code, subcode), key in CODES.items():
        if 200 <= code < 300:
            continue  # 200-299 are one range
        codes.setdefault(key, []).append(f"{code}/{subcode}" if subcode is not None else str(code))
    codes["permission_missing"].append("200-299")
    lines = [
        "",
        "## Why a message was not sent",
        "",
        "A failed message (`status` `failed` in a conversation's messages) carries `error`, e.g.",
        "`TokenInvalid code=190 subcode=463 http=401 reason=token_expired: The channel's access token has "
        "expired: connect the channel again. Meta said: ...`: the kind of failure, Meta's code and subcode "
        "(`none` when Meta gave none, as for trouble on the way to Meta), the HTTP status, the reason's key, "
        "plain words, and what Meta said. A failure that was retried starts `gave up after N attempts: `. "
        "The same facts are in the log line `event=send.failed`.",
        "",
        "| reason | Meta's codes | in words |",
        "| --- | --- | --- |",
    ]
    for key, words in REASONS.items():
        lines.append(f"| `{key}` | {', '.join(codes.get(key, [])) or '-'} | {_cell(words)} |")
    return [*lines, "| `not_sent` | - | Jola refused it before asking Meta; its own words follow |"]


def _operation(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f'### <a id="{op["operationId"].lower()}"></a>`{method.upper()} {path}`: {op["summary"]}',
        "",
        op["description"],
    ]
    if op.get("security") == []:
        lines += ["", "No token needed."]
    if op.get("parameters"):
        lines += ["", "| parameter | in | type | |", "| --- | --- | --- | --- |"]
        for param in op["parameters"]:
            required = " **required**" if param.get("required") and param["in"] != "path" else ""
            lines.append(
                f"| `{param['name']}` | {param['in']} | {_type(param['schema'])} | "
                f"{_cell(param['description'])}{required} |"
            )
    body = op.get("requestBody")
    if body:
        media = body["content"]["application/json"]
        lines += ["", "Body (JSON):", "", *_fields(media["schema"])]
        if "example" in media:
            lines += _example(media["example"])
    lines += ["", "Answers:", ""]
    for status, answer in op["responses"].items():
        answer = _resolve(doc, answer)
        code = f" `{ERROR_CODES[int(status)]}`" if int(status) >= 400 and int(status) in ERROR_CODES else ""
        media = answer.get("content", {}).get("application/json")
        shape = f" ({_type(media['schema'])})" if media and int(status) < 400 else ""
        lines.append(f"- **{status}**{code}{shape}: {answer['description']}")
    for status, answer in op["responses"].items():
        media = answer.get("content", {}).get("application/json")
        if media and int(status) < 400 and ("properties" in media["schema"] or "allOf" in media["schema"]):
            lines += ["", f"{status}, fields:", "", *_fields(media["schema"])]
    for status, answer in op["responses"].items():
        media = answer.get("content", {}).get("application/json", {})  # shared errors: see Errors above
        if "example" in media:
            lines += ["", f"{status}:", *_example(media["example"])]
    return lines


def _fields(schema: dict[str, Any]) -> list[str]:
    properties = dict(schema.get("properties", {}))
    required = set(schema.get("required", []))
    parents = [part["$ref"].rsplit("/", 1)[-1] for part in schema.get("allOf", []) if "$ref" in part]
    lines = [f"Every field of {', '.join(parents)}, and:", ""] if parents else []
    if not properties:
        return [*lines, f"A {_type(schema)}."] if not parents else lines[:-1]
    lines += ["| field | type | |", "| --- | --- | --- |"]
    lines += _rows(properties, required, "")
    return lines


def _rows(properties: dict[str, Any], required: set[str], prefix: str) -> list[str]:
    """One row per field; an object given inline has its fields as rows too (`client.name`)."""
    rows = []
    for name, field in properties.items():
        note = "" if name in required else " (optional)"
        rows.append(f"| `{prefix}{name}` | {_type(field)} | {_cell(field.get('description', ''))}{note} |")
        if field.get("type") == "object" and "properties" in field:
            rows += _rows(field["properties"], set(field.get("required", [])), f"{prefix}{name}.")
        items = field.get("items", {})
        if field.get("type") == "array" and items.get("type") == "object" and "properties" in items:
            rows += _rows(items["properties"], set(items.get("required", [])), f"{prefix}{name}[].")
    return rows


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type(part) for part in schema["anyOf"])
    if "allOf" in schema:
        return " + ".join(_type(part) for part in schema["allOf"]) + " + more"
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    said = []
    for kind in kinds:
        if kind == "array":
            said.append(f"array of {_type(schema.get('items', {}))}")
        elif kind == "string" and schema.get("format") == "date-time":
            said.append("date-time")
        else:
            said.append(kind)
    return " or ".join(said)


def _resolve(doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in item:
        return item
    found: Any = doc
    for part in item["$ref"].removeprefix("#/").split("/"):
        found = found[part]
    return dict(found)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _example(value: Any) -> list[str]:
    return ["", "```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


def main() -> None:
    sys.stdout.write(markdown())


if __name__ == "__main__":
    main()
