"""The REST API's reference: one OpenAPI 3.1 document, built here from the same limits and values the
handlers use, served at /api/v1/openapi.json and rendered as docs/api.md (`bot/api/reference.py`).

A new route gets its entry in OPERATIONS (and a schema in SCHEMAS if its answer is a new shape);
tests/test_openapi.py fails until every route in the router is here, every entry here answers, and every
answer matches its schema.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from aiohttp import web

from bot.api.appointments import LIST_LIMIT
from bot.api.audit import LIST_DEFAULT as AUDIT_DEFAULT
from bot.api.availability import DEFAULT_SPAN
from bot.api.clients import MAX_QUERY
from bot.api.conversations import LIST_DEFAULT, LIST_MAX
from bot.api.json import EARLIEST_YEAR, ERROR_CODES, LATEST_YEAR, MAX_BODY, MAX_ID
from bot.api.practitioners import NOTE_LIMIT
from bot.api.processing import PATH as PROCESSING_PATH
from bot.audit import ACTIONS as AUDIT_ACTIONS
from bot.audit import SUBJECT_TYPES as AUDIT_SUBJECTS
from bot.client_edits import LOCALES, NAME_LIMIT, RESTRICTION_REASONS
from bot.client_edits import NOTE_LIMIT as RESTRICTION_NOTE_LIMIT
from bot.client_edits import PROBLEMS as FIELD_PROBLEMS
from flows.messages import DeliveryStatus
from storage.appointments import STATUSES
from storage.audit import PAGE_MAX as AUDIT_PAGE_MAX
from storage.clients import SEARCH_LIMIT
from storage.conversation_views import MESSAGE_PAGE, MESSAGE_PAGE_MAX, STATUS_FILTERS

PATH = "/api/v1/openapi.json"
routes = web.RouteTableDef()

Schema = dict[str, Any]

# ----------------------------------------------------------------------------------------- building


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def maybe(schema: Schema) -> Schema:
    """The schema, or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def text(description: str, **more: Any) -> Schema:
    return {"type": "string", "description": description, **more}


def maybe_text(description: str, **more: Any) -> Schema:
    return {"type": ["string", "null"], "description": description, **more}


def moment(description: str, nullable: bool = False) -> Schema:
    kind: Any = ["string", "null"] if nullable else "string"
    return {
        "type": kind,
        "format": "date-time",
        "description": f"{description} (ISO 8601 with the business's UTC offset)",
    }


def whole(description: str, **more: Any) -> Schema:
    return {"type": "integer", "description": description, **more}


def row_id(description: str) -> Schema:
    return whole(description, minimum=1, maximum=MAX_ID)


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), **more: Any) -> Schema:
    """An object whose properties are all present unless named optional."""
    schema: Schema = {"type": "object", "properties": properties}
    required = [name for name in properties if name not in optional]
    if required:
        schema["required"] = required
    return {**schema, **more}


def array(items: Schema, description: str | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    return {**schema, "description": description} if description else schema


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: str  # query | path
    description: str
    schema: Schema = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    example: Any = None

    def as_json(self) -> Schema:
        found: Schema = {
            "name": self.name,
            "in": self.where,
            "required": self.required or self.where == "path",
            "description": self.description,
            "schema": self.schema,
        }
        if self.example is not None:
            found["example"] = self.example
        return found


@dataclass(frozen=True, slots=True)
class Answer:
    """A success answer: status, what it means, and (unless 204) its schema and an example."""

    status: int
    description: str
    schema: Schema | None = None
    example: Any = None
    headers: dict[str, Schema] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    id: str
    tag: str
    summary: str
    description: str
    answer: Answer
    params: tuple[Param, ...] = ()
    body: Schema | None = None  # a JSON request body: its schema
    body_example: Any = None
    # Error statuses this route answers besides those of every route; a (description, example) pair
    # says more than the shared entry does.
    errors: dict[int, tuple[str, Any] | None] = field(default_factory=dict)
    public: bool = False

    def as_json(self) -> Schema:
        found: Schema = {
            "operationId": self.id,
            "tags": [self.tag],
            "summary": self.summary,
            "description": self.description,
        }
        if self.params:
            found["parameters"] = [p.as_json() for p in self.params]
        if self.body is not None:
            found["requestBody"] = {
                "required": True,
                "content": {"application/json": _media(self.body, self.body_example)},
            }
        found["responses"] = {str(self.answer.status): _success(self.answer)}
        for status, said in sorted(self.error_statuses().items()):
            found["responses"][str(status)] = (
                {"$ref": f"#/components/responses/{ERROR_NAMES[status]}"} if said is None else _error(*said)
            )
        if self.public:
            found["security"] = []
        return found

    def error_statuses(self) -> dict[int, tuple[str, Any] | None]:
        statuses: dict[int, tuple[str, Any] | None] = dict.fromkeys(
            () if self.public else EVERY_ROUTE_ERRORS, None
        )
        if self.body is not None:
            statuses.update(dict.fromkeys(BODY_ERRORS, None))
        statuses.update(self.errors)
        return statuses


def _success(answer: Answer) -> Schema:
    found: Schema = {"description": answer.description}
    if answer.headers:
        found["headers"] = {name: {"schema": schema} for name, schema in answer.headers.items()}
    if answer.schema is not None:
        found["content"] = {"application/json": _media(answer.schema, answer.example)}
    return found


def _media(schema: Schema, example: Any) -> Schema:
    return {"schema": schema} if example is None else {"schema": schema, "example": example}


def _error(description: str, example: Any) -> Schema:
    return {"description": description, "content": {"application/json": _media(ref("Error"), example)}}


def error_example(status: int, message: str, /, **details: Any) -> Schema:
    return {"error": message, "code": ERROR_CODES[status], **details}


# ------------------------------------------------------------------------------------------ schemas

ID = row_id
PERSON = obj(
    {"id": text("The config id", examples=["mia"]), "name": text("As staff and clients see it")},
    description="A practitioner or room: its id from the business's config and its name.",
)
CLIENT_REF = obj(
    {
        "id": ID("The client's id"),
        "name": maybe_text("The client's name, when known"),
        "phone": maybe_text("E.164 with a leading +, where the channel gives a phone number (WhatsApp)"),
    },
    description="A client, in short.",
)
APPOINTMENT = obj(
    {
        "id": ID("The appointment's id"),
        "status": {
            "enum": list(STATUSES),
            "description": "booked (made, not yet reconfirmed), confirmed (the client reconfirmed, e.g. from "
            "a reminder), cancelled, completed or no_show",
        },
        "start": moment("When it starts"),
        "end": moment("When it ends"),
        "service": obj(
            {"id": text("The service's config id"), "name": text("The service's name")},
            description="What is booked.",
        ),
        "practitioner": maybe(ref("Person"))
        | {"description": "Who; null for a business without practitioners"},
        "room": maybe(ref("Person")) | {"description": "Where, for a service that needs a room; else null"},
        "client": maybe(ref("ClientRef")) | {"description": "Whom for; null once the client was erased"},
        "channel": maybe_text("Where it was booked: whatsapp, messenger, instagram, phone, walk_in..."),
    },
    description="One appointment in the business's calendar.",
)
APPOINTMENT_EXAMPLE = {
    "id": 42,
    "status": "booked",
    "start": "2026-11-26T10:00:00+01:00",
    "end": "2026-11-26T11:00:00+01:00",
    "service": {"id": "massage", "name": "Massage"},
    "practitioner": {"id": "mia", "name": "Mia Holm"},
    "room": None,
    "client": {"id": 7, "name": "Ana Berg", "phone": "+4512345678"},
    "channel": "phone",
}
CLIENT_EXAMPLE = {
    "id": 7,
    "name": "Ana Berg",
    "phone": "+4512345678",
    "locale": "en",
    "email": None,
    "restricted": False,
    "restriction": None,
    "identities": [
        {
            "channel": "whatsapp",
            "user_id": "US.1000000000000000001",
            "phone": "+4512345678",
            "username": None,
            "opted_out_at": None,
        }
    ],
    "appointments": [
        {
            **APPOINTMENT_EXAMPLE,
            "history": [
                {
                    "at": "2026-11-25T09:12:00+01:00",
                    "actor": "api",
                    "action": "booked",
                    "from": None,
                    "to": "booked",
                }
            ],
        }
    ],
    "possible_duplicates": [],
    "conversations": [
        {
            "id": 3,
            "channel": "whatsapp",
            "handled_by": "bot",
            "needs_staff": False,
            "state": "idle",
            "last_message_at": "2026-11-25T09:12:00+01:00",
        }
    ],
}
CLIENT_TOLD = {
    "enum": ["told", "window", "no_conversation", "opted_out"],
    "description": "Whether the client was told on the channel they last wrote on: told; window (Meta's "
    "24-hour window is closed, tell them another way); no_conversation (they never wrote); opted_out (they "
    "said stop there)",
}
CONVERSATION = obj(
    {
        "id": ID("The conversation's id"),
        "channel": text("whatsapp, messenger or instagram"),
        "client": ref("ClientRef"),
        "handled_by": {"enum": ["bot", "staff"], "description": "Who answers the client now"},
        "needs_staff": {
            "type": "boolean",
            "description": "The client asked for a person, or the bot gave up",
        },
        "state": text("Where the bot's flow is (its state's name)"),
        "last_message_at": moment("The last message in or out", nullable=True),
    },
    description="One client on one channel.",
)
MESSAGE = obj(
    {
        "id": ID("The message's id"),
        "direction": {"enum": ["in", "out"]},
        "author": {"enum": ["client", "bot", "staff"]},
        "text": maybe_text("What it says (null for a message without text, such as an image)"),
        "status": {
            "enum": [s.value for s in DeliveryStatus],
            "description": "received (in); queued, sent, delivered, read, played or failed (out)",
        },
        "created_at": moment("When it was written"),
        "error": text(
            "Only on a failed message: why, e.g. `OutsideWindow code=131047 subcode=none http=400 "
            "reason=window_closed: More than 24 hours since the client wrote: only an approved template can "
            "be sent.`"
        ),
    },
    optional=("error",),
    description="One message in or out of a conversation.",
)
IDENTITY = obj(
    {
        "channel": text("whatsapp, messenger or instagram"),
        "user_id": maybe_text("The platform's id of the person (WhatsApp BSUID, Messenger PSID, IGSID)"),
        "phone": maybe_text("E.164 with a leading +, where the channel gives one"),
        "username": maybe_text("The platform username, where there is one"),
        "opted_out_at": moment(
            "When the client said stop here (no reminders or notices on it)", nullable=True
        ),
    },
    description="How the client is known on one channel.",
)
HISTORY = obj(
    {
        "at": moment("When"),
        "actor": text("Who: bot, api, staff:<id>, client, system..."),
        "action": text("What: booked, confirmed, moved, cancelled..."),
        "from": {"type": ["string", "null"], "description": "The status before"},
        "to": {"type": ["string", "null"], "description": "The status after"},
    },
    description="One change of an appointment.",
)
CLIENT_RECORD = obj(
    {
        "id": ID("The client's id"),
        "name": maybe_text("The client's name, when known"),
        "phone": maybe_text("E.164 with a leading +"),
        "locale": maybe_text("The language the client writes in (en, da)"),
        "email": maybe_text("For confirmations and reminders by email"),
        "restricted": {
            "type": "boolean",
            "description": "Processing is restricted (GDPR art. 18): the bot answers nothing and no "
            "reminder, notice or email goes out; messages are still stored",
        },
        "restriction": maybe(
            obj(
                {
                    "since": moment("Restricted since"),
                    "reason": {"enum": list(RESTRICTION_REASONS)},
                    "note": maybe_text("Staff's few words (needed with reason other)"),
                }
            )
        )
        | {"description": "Why, while restricted; else null"},
        "identities": array(ref("Identity")),
        "appointments": array(
            {
                "allOf": [ref("Appointment")],
                "properties": {"history": array(ref("HistoryEntry"))},
                "required": ["history"],
            },
            "Every appointment, each with its history",
        ),
        "possible_duplicates": array(ref("ClientRef"), "Other records that may be the same person"),
        "conversations": array(
            obj(
                {
                    "id": ID("The conversation's id"),
                    "channel": text("whatsapp, messenger or instagram"),
                    "handled_by": {"enum": ["bot", "staff"]},
                    "needs_staff": {"type": "boolean"},
                    "state": text("Where the bot's flow is"),
                    "last_message_at": moment("The last message", nullable=True),
                }
            )
        ),
    },
    description="A client's record: who they are on which channel, their appointments and conversations.",
)
CLIENT_EXPORT = obj(
    {
        "business": text("The business's config id"),
        "exported_at": moment("When this export was made"),
        "client": {"type": "object", "description": "The client's own fields (name, phone, email, notes...)"},
        "identities": array({"type": "object"}, "Every channel identity, with when the client opted out"),
        "consents": {"type": "object", "description": "Email and per-channel reminder consent"},
        "conversations": array({"type": "object"}, "Every conversation with every message"),
        "appointments": array({"type": "object"}, "Every appointment with its history"),
    },
    additionalProperties=True,
    description="Everything held on the client (right of access and portability). Times are in the "
    "business's zone.",
)
PRACTITIONER = obj(
    {
        "id": text("The config id"),
        "name": text("The practitioner's name"),
        "services": array({"type": "string"}, "The ids of the services they perform"),
    },
    description="Someone clients book with.",
)
TIME_OFF = obj(
    {
        "id": ID("The period's id"),
        "practitioner": text("The practitioner's config id"),
        "start": moment("The first moment away"),
        "end": moment("The first moment back"),
        "note": maybe_text("Staff's note"),
    },
    description="A period a practitioner is away: [start, end).",
)
SLOT = obj(
    {
        "start": moment("A free start"),
        "practitioner": maybe(ref("Person"))
        | {"description": "Whom the bot would book; null without practitioners"},
        "practitioners": array(ref("Person"), "Everyone free then"),
        "places_left": {"type": ["integer", "null"], "description": "For a class: places left; else null"},
    },
    description="A start the bot would offer.",
)
AUDIT_EVENT = obj(
    {
        "id": ID("The event's id"),
        "at": moment("When"),
        "actor": obj(
            {
                "kind": {"enum": ["staff", "owner", "api", "cli", "system"]},
                "staff_id": {
                    "type": ["integer", "null"],
                    "description": "The staff member, for staff and owner",
                },
                "name": maybe_text("The staff member's name, while their account exists"),
            },
            description="Who did it",
        ),
        "action": {"enum": list(AUDIT_ACTIONS)},
        "subject": maybe(
            obj({"type": {"enum": list(AUDIT_SUBJECTS)}, "id": ID("Its id")}, description="What it was about")
        ),
        "detail": {
            "type": "object",
            "description": "More about it (which fields changed, how many...), never personal data",
        },
    },
    description="One thing someone did with the business's data.",
)
KEYED = {
    "type": "object",
    "properties": {"key": text("A stable key"), "description": text("In words")},
    "required": ["key", "description"],
    "additionalProperties": True,
}
ERROR = {
    "type": "object",
    "description": "Every error has this shape, whatever the route or status. Some carry details beside the "
    "two keys (a 409 says what is in the way).",
    "properties": {
        "error": text("What is wrong, in words for a person"),
        "code": {
            "enum": sorted(set(ERROR_CODES.values())),
            "description": "What is wrong, for a program: follows the HTTP status",
        },
        "start": text("409: the start asked for"),
        "end": text("409: the end asked for"),
        "conflicts": array(
            obj({"start": moment("Busy from"), "end": moment("Busy until")}),
            "409 slot taken: what is in the way",
        ),
        "status": text("409 on cancel: the appointment's status"),
        "practitioner": {"type": ["string", "null"], "description": "409 practitioner away: who"},
        "places_left": {"type": "integer", "description": "409 class full: 0"},
        "appointments": array(ref("Appointment"), "409 on time off: the active appointments in it"),
        "fields": {
            "type": "object",
            "additionalProperties": {"enum": sorted(FIELD_PROBLEMS)},
            "description": "400 on correcting a client: each field that cannot be taken, and why",
        },
        "retry_after": {
            "type": "integer",
            "minimum": 1,
            "description": "429: seconds to wait (as Retry-After)",
        },
    },
    "required": ["error", "code"],
    "additionalProperties": True,
}

SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Person": PERSON,
    "ClientRef": CLIENT_REF,
    "Appointment": APPOINTMENT,
    "Conversation": CONVERSATION,
    "Message": MESSAGE,
    "Identity": IDENTITY,
    "HistoryEntry": HISTORY,
    "ClientRecord": CLIENT_RECORD,
    "ClientExport": CLIENT_EXPORT,
    "Practitioner": PRACTITIONER,
    "TimeOff": TIME_OFF,
    "Slot": SLOT,
    "AuditEvent": AUDIT_EVENT,
}

# ------------------------------------------------------------------------------------------- errors

ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalError",
}
EVERY_ROUTE_ERRORS = (401, 429, 500)  # a route behind the token
BODY_ERRORS = (400, 413, 415)  # a route that reads a JSON body
SHARED_ERRORS: dict[int, tuple[str, Any]] = {
    400: (
        "A parameter or the body is not what the route takes; `error` names it",
        error_example(400, "status must be one of booked, confirmed, cancelled, completed, no_show"),
    ),
    401: (
        "No bearer token, or not a business's token",
        error_example(401, "missing or invalid bearer token"),
    ),
    404: ("Nothing with that id in this business", error_example(404, "not found")),
    409: (
        "The request clashes with the calendar or the conversation as it is now",
        error_example(409, "slot taken"),
    ),
    413: (
        f"The body is over {MAX_BODY} bytes",
        error_example(413, f"body is too large (at most {MAX_BODY} bytes)"),
    ),
    415: (
        "A compressed body (send it as is)",
        error_example(415, "Content-Encoding is not supported; send the body as is"),
    ),
    429: (
        "Too many requests with this token or from this address, or too many wrong tokens from this "
        "address; wait `retry_after` seconds (also in Retry-After)",
        error_example(
            429, "too many requests with this business's token; retry after 2 seconds", retry_after=2
        ),
    ),
    500: (
        "A fault in Jola (logged with the route, never with the data)",
        error_example(500, "internal error"),
    ),
}


def _error_responses() -> dict[str, Schema]:
    found = {}
    for status, name in ERROR_NAMES.items():
        description, example = SHARED_ERRORS[status]
        found[name] = _error(description, example)
    found["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {
            "description": 'Bearer realm="jola" (with error="invalid_token" when a token was sent)',
            "schema": {"type": "string"},
        }
    }
    found["TooManyRequests"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
    }
    return found


# --------------------------------------------------------------------------------------- parameters

ID_PATH = Param(
    "id", "path", "The row's id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, example=42
)
WHEN_FORMS = (
    "a date (local midnight) or a date-time (without an offset: local time), "
    f"years {EARLIEST_YEAR} to {LATEST_YEAR}"
)
PRACTITIONER_PATH = Param("practitioner", "path", "The practitioner's config id", example="mia")

# ------------------------------------------------------------------------------------------- routes

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/api/v1/appointments",
        "listAppointments",
        "appointments",
        "List appointments",
        f"The calendar, oldest first, at most {LIST_LIMIT}. Test bookings (the playground) are not listed.",
        Answer(
            200,
            "The appointments",
            obj({"appointments": array(ref("Appointment"))}),
            {"appointments": [APPOINTMENT_EXAMPLE]},
        ),
        params=(
            Param(
                "from", "query", f"Appointments starting at or after this: {WHEN_FORMS}", example="2026-11-26"
            ),
            Param("to", "query", f"Appointments starting before this: {WHEN_FORMS}", example="2026-11-27"),
            Param(
                "status",
                "query",
                "Only appointments in this status",
                {"enum": list(STATUSES)},
                example="booked",
            ),
        ),
        errors={400: None},
    ),
    Operation(
        "post",
        "/api/v1/appointments",
        "createAppointment",
        "appointments",
        "Book an appointment",
        "A staff-made booking, checked like the bot's own (opening hours, the practitioner's hours and time "
        "off, rooms, buffers). The client is found by phone or created; they are told on the channel they "
        "last wrote on when Meta's window allows (`client_told`).",
        Answer(
            201,
            "Booked",
            {
                "allOf": [ref("Appointment")],
                "properties": {"client_told": CLIENT_TOLD},
                "required": ["client_told"],
            },
            {**APPOINTMENT_EXAMPLE, "client_told": "told"},
        ),
        body=obj(
            {
                "service": text("The service's config id"),
                "start": text("When it starts: an ISO 8601 date-time; without an offset it is local time"),
                "client": obj(
                    {
                        "name": maybe_text("At most 200 characters", maxLength=200),
                        "phone": maybe_text("E.164: + and 8 to 15 digits (spaces and dashes are ignored)"),
                        "email": maybe_text("For confirmations and reminders by email"),
                    },
                    optional=("name", "phone", "email"),
                    description="A name or a phone, or both; an existing client is found by phone",
                ),
                "channel": maybe_text(
                    "Where it was booked: a short lowercase name (phone, walk_in, whatsapp...)"
                ),
                "practitioner": maybe_text(
                    "A practitioner's config id; without it the first free one is booked"
                ),
            },
            optional=("channel", "practitioner"),
        ),
        body_example={
            "service": "massage",
            "start": "2026-11-26T10:00:00+01:00",
            "client": {"name": "Ana Berg", "phone": "+4512345678"},
            "channel": "phone",
            "practitioner": "mia",
        },
        errors={
            409: (
                "The time is not free: slot taken (with `conflicts`), client already booked then, "
                "practitioner away, no room free, class full",
                error_example(
                    409,
                    "slot taken",
                    start="2026-11-26T10:00:00+01:00",
                    end="2026-11-26T11:00:00+01:00",
                    conflicts=[{"start": "2026-11-26T09:30:00+01:00", "end": "2026-11-26T10:30:00+01:00"}],
                ),
            )
        },
    ),
    Operation(
        "post",
        "/api/v1/appointments/{id}/cancel",
        "cancelAppointment",
        "appointments",
        "Cancel an appointment",
        "The client is told as for a booking (`client_told`); the change goes into the appointment's "
        "history.",
        Answer(
            200,
            "Cancelled",
            {
                "allOf": [ref("Appointment")],
                "properties": {"client_told": CLIENT_TOLD},
                "required": ["client_told"],
            },
            {**APPOINTMENT_EXAMPLE, "status": "cancelled", "client_told": "window"},
        ),
        params=(ID_PATH,),
        errors={
            404: ("No such appointment", error_example(404, "appointment not found")),
            409: (
                "It is cancelled, completed or a no-show already",
                error_example(409, "cannot cancel an appointment that is cancelled", status="cancelled"),
            ),
        },
    ),
    Operation(
        "get",
        "/api/v1/availability",
        "listAvailability",
        "availability",
        "Free starts",
        f"What the bot would offer for a service, between `from` (default now) and `to` (default "
        f"{DEFAULT_SPAN.days} days later; a date means that whole day), never past the booking horizon.",
        Answer(
            200,
            "The free starts, in order",
            obj({"slots": array(ref("Slot"))}),
            {
                "slots": [
                    {
                        "start": "2026-11-26T10:00:00+01:00",
                        "practitioner": {"id": "mia", "name": "Mia Holm"},
                        "practitioners": [
                            {"id": "mia", "name": "Mia Holm"},
                            {"id": "jonas", "name": "Jonas Berg"},
                        ],
                        "places_left": None,
                    }
                ]
            },
        ),
        params=(
            Param("service", "query", "The service's config id", required=True, example="massage"),
            Param("from", "query", f"From when: {WHEN_FORMS}", example="2026-11-26"),
            Param("to", "query", f"Until when: {WHEN_FORMS}", example="2026-11-26"),
            Param("practitioner", "query", "Only this practitioner's free starts", example="mia"),
        ),
        errors={400: None},
    ),
    Operation(
        "get",
        "/api/v1/clients",
        "searchClients",
        "clients",
        "Find clients",
        f"By phone (exact) and/or by name or phone text; at most {SEARCH_LIMIT}.",
        Answer(
            200,
            "The clients found",
            obj({"clients": array(ref("ClientRef"))}),
            {"clients": [{"id": 7, "name": "Ana Berg", "phone": "+4512345678"}]},
        ),
        params=(
            Param("phone", "query", "An E.164 number (a missing + is forgiven)", example="+4512345678"),
            Param(
                "q",
                "query",
                f"Part of a name or phone, at most {MAX_QUERY} characters",
                {"type": "string", "maxLength": MAX_QUERY},
                example="Ana",
            ),
        ),
        errors={400: None},
    ),
    Operation(
        "get",
        "/api/v1/clients/{id}",
        "getClient",
        "clients",
        "A client's record",
        "Who the client is on each channel, every appointment with its history, their conversations, and "
        "records that may be the same person.",
        Answer(200, "The record", ref("ClientRecord"), CLIENT_EXAMPLE),
        params=(ID_PATH,),
        errors={404: ("No such client", error_example(404, "client not found"))},
    ),
    Operation(
        "patch",
        "/api/v1/clients/{id}",
        "correctClient",
        "clients",
        "Correct a client's record, or restrict its processing",
        "Rectification (GDPR art. 16) and restriction (art. 18). Every field is optional; all are checked "
        "before anything is written, and an empty or null value clears a detail. `restricted: true` needs "
        "a `restricted_reason`; `restricted: false` lifts the restriction. Each change is in the audit log "
        "(which fields, never what they held).",
        Answer(200, "The record as it is now", ref("ClientRecord"), CLIENT_EXAMPLE),
        params=(ID_PATH,),
        body=obj(
            {
                "name": maybe_text(f"One line, at most {NAME_LIMIT} characters"),
                "phone": maybe_text("E.164: + and the country code, 8 to 15 digits in all"),
                "email": maybe_text("One plain email address"),
                "locale": {"enum": [*LOCALES, None], "description": "The language the client gets"},
                "restricted": {"type": "boolean", "description": "true restricts processing, false lifts it"},
                "restricted_reason": {
                    "enum": list(RESTRICTION_REASONS),
                    "description": "With restricted: true",
                },
                "restricted_note": maybe_text(
                    f"Why, in one line of at most {RESTRICTION_NOTE_LIMIT} characters (needed with other)"
                ),
            },
            optional=(
                "name",
                "phone",
                "email",
                "locale",
                "restricted",
                "restricted_reason",
                "restricted_note",
            ),
            additionalProperties=False,
        ),
        body_example={
            "phone": "+45 12 34 56 78",
            "restricted": True,
            "restricted_reason": "accuracy_contested",
        },
        errors={
            400: (
                "A field cannot be taken (each named in `fields`), or a field is unknown",
                error_example(
                    400,
                    "phone: phone must be an E.164 number: + and the country code, 8 to 15 digits in all",
                    fields={"phone": "phone_bad"},
                ),
            ),
            404: ("No such client", error_example(404, "client not found")),
        },
    ),
    Operation(
        "post",
        "/api/v1/clients/{id}/link",
        "linkClients",
        "clients",
        "Join two records of one person",
        "Say one person wrote on WhatsApp and on Messenger: the other record's channels, conversations and "
        "appointments move to this one, and the other record is gone.",
        Answer(200, "The joined record", ref("ClientRecord"), None),
        params=(ID_PATH,),
        body=obj({"client_id": row_id("The other record, to be joined into this one")}),
        body_example={"client_id": 8},
        errors={404: ("Either client does not exist", error_example(404, "client not found"))},
    ),
    Operation(
        "get",
        "/api/v1/clients/{id}/export",
        "exportClient",
        "clients",
        "Everything held on a client",
        "Right of access and portability: as a JSON file (`Content-Disposition: attachment`). The export is "
        "recorded in the privacy log.",
        Answer(
            200,
            "The export",
            ref("ClientExport"),
            {
                "business": "harbour-clinic",
                "exported_at": "2026-11-25T09:00:00+01:00",
                "client": {"id": 7, "name": "Ana Berg", "phone": "4512345678"},
                "identities": [],
                "consents": {
                    "email": {"address": None, "reminders": False, "opted_out_at": None},
                    "channels": [],
                },
                "conversations": [],
                "appointments": [],
            },
            headers={
                "Content-Disposition": {
                    "type": "string",
                    "examples": ['attachment; filename="client-7.json"'],
                }
            },
        ),
        params=(ID_PATH,),
        errors={404: ("No such client", error_example(404, "client not found"))},
    ),
    Operation(
        "delete",
        "/api/v1/clients/{id}",
        "eraseClient",
        "clients",
        "Erase a client",
        "Right to erasure: the client's personal data and messages are gone; their appointments stay, "
        "without them. A later GET is 404. Recorded in the privacy log.",
        Answer(204, "Erased"),
        params=(ID_PATH,),
        errors={404: ("No such client", error_example(404, "client not found"))},
    ),
    Operation(
        "get",
        "/api/v1/conversations",
        "listConversations",
        "conversations",
        "List conversations",
        "The inbox, most recent activity first. Test conversations (the playground) are not listed.",
        Answer(
            200,
            "The conversations",
            obj({"conversations": array(ref("Conversation"))}),
            {
                "conversations": [
                    {
                        "id": 3,
                        "channel": "whatsapp",
                        "client": {"id": 7, "name": "Ana Berg", "phone": "+4512345678"},
                        "handled_by": "staff",
                        "needs_staff": True,
                        "state": "choosing_time",
                        "last_message_at": "2026-11-25T09:12:00+01:00",
                    }
                ]
            },
        ),
        params=(
            Param(
                "status",
                "query",
                "needs_staff (the client asked for a person, or the bot gave up), staff (a person has it) "
                "or bot",
                {"enum": list(STATUS_FILTERS)},
                example="needs_staff",
            ),
            Param(
                "limit",
                "query",
                f"How many (default {LIST_DEFAULT})",
                {"type": "integer", "minimum": 1, "maximum": LIST_MAX},
            ),
        ),
        errors={400: None},
    ),
    Operation(
        "get",
        "/api/v1/conversations/{id}/messages",
        "listMessages",
        "conversations",
        "A conversation's messages",
        f"Oldest first: the latest `limit` (default {MESSAGE_PAGE}), or those before the message `before` "
        "to page back.",
        Answer(
            200,
            "The messages",
            obj({"messages": array(ref("Message"))}),
            {
                "messages": [
                    {
                        "id": 11,
                        "direction": "in",
                        "author": "client",
                        "text": "Can I book a massage tomorrow?",
                        "status": "received",
                        "created_at": "2026-11-25T09:10:00+01:00",
                    },
                    {
                        "id": 12,
                        "direction": "out",
                        "author": "bot",
                        "text": "Massage, 60 min. When would you like to come?",
                        "status": "read",
                        "created_at": "2026-11-25T09:10:01+01:00",
                    },
                ]
            },
        ),
        params=(
            ID_PATH,
            Param(
                "before",
                "query",
                "A message id: only older messages",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            ),
            Param(
                "limit",
                "query",
                f"How many (default {MESSAGE_PAGE})",
                {"type": "integer", "minimum": 1, "maximum": MESSAGE_PAGE_MAX},
            ),
        ),
        errors={400: None, 404: ("No such conversation", error_example(404, "conversation not found"))},
    ),
    Operation(
        "post",
        "/api/v1/conversations/{id}/messages",
        "sendMessage",
        "conversations",
        "Send a staff reply",
        "Queued on the conversation's channel and sent in order; it takes the conversation from the bot. "
        "Meta's windows decide what may go: WhatsApp within 24 hours of the client's last message; Messenger "
        "and Instagram within 24 hours, then with the HUMAN_AGENT tag up to 7 days.",
        Answer(
            201,
            "Queued",
            obj(
                {
                    "id": ID("The message's id"),
                    "direction": {"const": "out"},
                    "author": {"const": "staff"},
                    "text": text("What was queued (trimmed)"),
                    "status": {"const": "queued"},
                    "created_at": moment("When it was queued"),
                }
            ),
            {
                "id": 13,
                "direction": "out",
                "author": "staff",
                "text": "Hi Ana, Sam here. Thursday at 10 works.",
                "status": "queued",
                "created_at": "2026-11-25T09:15:00+01:00",
            },
        ),
        params=(ID_PATH,),
        body=obj(
            {
                "text": text(
                    "At most the channel's length: WhatsApp 4096, Messenger 2000, Instagram 1000 characters"
                )
            }
        ),
        body_example={"text": "Hi Ana, Sam here. Thursday at 10 works."},
        errors={
            404: ("No such conversation", error_example(404, "conversation not found")),
            409: (
                "Meta's window for free text is closed",
                error_example(
                    409, "outside WhatsApp's 24-hour window: only an approved template may be sent"
                ),
            ),
        },
    ),
    Operation(
        "post",
        "/api/v1/conversations/{id}/takeover",
        "takeOver",
        "conversations",
        "Take a conversation from the bot",
        "The bot goes quiet; the client's messages still arrive.",
        Answer(
            200,
            "Staff has it",
            obj({"id": ID("The conversation's id"), "handled_by": {"const": "staff"}}),
            {"id": 3, "handled_by": "staff"},
        ),
        params=(ID_PATH,),
        errors={404: ("No such conversation", error_example(404, "conversation not found"))},
    ),
    Operation(
        "post",
        "/api/v1/conversations/{id}/release",
        "release",
        "conversations",
        "Hand a conversation back to the bot",
        "The bot goes on where it was.",
        Answer(
            200,
            "The bot has it",
            obj({"id": ID("The conversation's id"), "handled_by": {"const": "bot"}}),
            {"id": 3, "handled_by": "bot"},
        ),
        params=(ID_PATH,),
        errors={404: ("No such conversation", error_example(404, "conversation not found"))},
    ),
    Operation(
        "get",
        "/api/v1/practitioners",
        "listPractitioners",
        "practitioners",
        "List practitioners",
        "Everyone clients book with, in the config's order.",
        Answer(
            200,
            "The practitioners",
            obj({"practitioners": array(ref("Practitioner"))}),
            {"practitioners": [{"id": "mia", "name": "Mia Holm", "services": ["massage", "physio"]}]},
        ),
    ),
    Operation(
        "get",
        "/api/v1/practitioners/{practitioner}/time-off",
        "listTimeOff",
        "practitioners",
        "A practitioner's time off",
        "Every period, oldest first.",
        Answer(
            200,
            "The periods",
            obj({"time_off": array(ref("TimeOff"))}),
            {
                "time_off": [
                    {
                        "id": 5,
                        "practitioner": "mia",
                        "start": "2026-12-24T00:00:00+01:00",
                        "end": "2026-12-27T00:00:00+01:00",
                        "note": "Christmas",
                    }
                ]
            },
        ),
        params=(PRACTITIONER_PATH,),
        errors={404: ("No such practitioner", error_example(404, "practitioner not found"))},
    ),
    Operation(
        "post",
        "/api/v1/practitioners/{practitioner}/time-off",
        "addTimeOff",
        "practitioners",
        "Add time off",
        "Dates are whole local days (`to` included); date-times are [from, to). Time off over active "
        "appointments is refused with those appointments, or, with `keep_appointments`, recorded with them "
        "listed as `affected`: never cancelled silently.",
        Answer(
            201,
            "Recorded",
            {
                "allOf": [ref("TimeOff")],
                "properties": {
                    "affected": array(ref("Appointment"), "Active appointments kept in the period")
                },
                "required": ["affected"],
            },
            {
                "id": 5,
                "practitioner": "mia",
                "start": "2026-12-24T00:00:00+01:00",
                "end": "2026-12-27T00:00:00+01:00",
                "note": "Christmas",
                "affected": [],
            },
        ),
        params=(PRACTITIONER_PATH,),
        body=obj(
            {
                "from": text(f"The first day or moment away: {WHEN_FORMS}"),
                "to": text(
                    f"The last day away, or the first moment back: {WHEN_FORMS}; within a year of from"
                ),
                "note": maybe_text(f"At most {NOTE_LIMIT} characters", maxLength=NOTE_LIMIT),
                "keep_appointments": {
                    "type": "boolean",
                    "default": False,
                    "description": "Record it even over active appointments",
                },
            },
            optional=("note", "keep_appointments"),
        ),
        body_example={"from": "2026-12-24", "to": "2026-12-26", "note": "Christmas"},
        errors={
            404: ("No such practitioner", error_example(404, "practitioner not found")),
            409: (
                "Active appointments fall in the period (listed in `appointments`)",
                error_example(
                    409,
                    "1 active appointment(s) with mia fall in this time off; move or cancel them first, or "
                    'send "keep_appointments": true to record it and keep them',
                    appointments=[APPOINTMENT_EXAMPLE],
                ),
            ),
        },
    ),
    Operation(
        "delete",
        "/api/v1/practitioners/{practitioner}/time-off/{id}",
        "removeTimeOff",
        "practitioners",
        "Remove time off",
        "The practitioner can be booked in that period again.",
        Answer(204, "Removed"),
        params=(PRACTITIONER_PATH, ID_PATH),
        errors={404: ("No such practitioner or period", error_example(404, "time off not found"))},
    ),
    Operation(
        "get",
        "/api/v1/audit",
        "listAuditEvents",
        "records",
        "The audit log",
        "Who read or changed what, newest first, a page at a time: the same rows and filters as the "
        "owners' /audit page, for a compliance archive or a SIEM. Page back with `before` set to the "
        "previous page's `next_before` until it is null.",
        Answer(
            200,
            "One page of events",
            obj(
                {
                    "events": array(ref("AuditEvent")),
                    "next_before": {
                        "type": ["integer", "null"],
                        "description": "`before` for the next (older) page; null at the end",
                    },
                }
            ),
            {
                "events": [
                    {
                        "id": 90,
                        "at": "2026-11-25T09:20:00+01:00",
                        "actor": {"kind": "staff", "staff_id": 3, "name": "Sam Berg"},
                        "action": "client.viewed",
                        "subject": {"type": "client", "id": 7},
                        "detail": {},
                    },
                    {
                        "id": 89,
                        "at": "2026-11-25T09:15:00+01:00",
                        "actor": {"kind": "api", "staff_id": None, "name": None},
                        "action": "client.rectified",
                        "subject": {"type": "client", "id": 7},
                        "detail": {"fields": ["phone"]},
                    },
                ],
                "next_before": 89,
            },
        ),
        params=(
            Param("from", "query", f"Events at or after this: {WHEN_FORMS}", example="2026-11-01"),
            Param("to", "query", f"Events before this (a date: to the end of that day): {WHEN_FORMS}"),
            Param("action", "query", "Only this kind of event", {"enum": list(AUDIT_ACTIONS)}),
            Param(
                "subject",
                "query",
                "Only events about this: a kind and an id (client:12, conversation:7, staff:3), or a "
                "client's bare id",
                example="client:7",
            ),
            Param("actor", "query", "Only events by this: staff:<id>, api, cli or system", example="staff:3"),
            Param(
                "before",
                "query",
                "The previous page's `next_before`",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            ),
            Param(
                "limit",
                "query",
                f"How many (default {AUDIT_DEFAULT})",
                {"type": "integer", "minimum": 1, "maximum": AUDIT_PAGE_MAX},
            ),
        ),
        errors={400: None},
    ),
    Operation(
        "get",
        PROCESSING_PATH,
        "getProcessingRecord",
        "records",
        "Records of processing",
        "The business's records of processing activities (GDPR art. 30) as they stand now: who the "
        "controller and processor are, purposes, data subjects and categories with counts, channels, "
        "retention, who has access, sub-processors and security measures. The same record as the owner's "
        "page /settings/processing.",
        Answer(
            200,
            "The record",
            obj(
                {
                    "business": obj({"id": text("The config id"), "name": text("The business's name")}),
                    "generated_at": moment("When this record was made"),
                    "controller": {"type": "object", "description": "The business: name, address, phone"},
                    "processor": {"type": "object", "description": "Who runs this Jola: name, contact"},
                    "purposes": array(KEYED, "Why data is processed"),
                    "data_subjects": array(KEYED, "Whose data, with counts"),
                    "data_categories": array(KEYED, "What data, with counts"),
                    "figures": {"type": "object", "description": "Counts of what is held, by kind"},
                    "channels": array({"type": "object"}, "The business's channels and when connected"),
                    "retention": {"type": "object", "description": "How long each kind of data is kept"},
                    "access": array({"type": "object"}, "Staff accounts: name, email, role, last login"),
                    "sub_processors": array({"type": "object"}, "Meta, and those the operator configured"),
                    "security_measures": array(KEYED, "How the data is protected"),
                }
            ),
            {
                "business": {"id": "harbour-clinic", "name": "Harbour Clinic"},
                "generated_at": "2026-11-25T09:00:00+01:00",
                "controller": {"name": "Harbour Clinic", "address": None, "phone": None},
                "processor": {
                    "name": "Nordic Booking ApS",
                    "contact": "privacy@example.org",
                    "software": "Jola",
                },
                "purposes": [{"key": "booking", "description": "Booking and managing appointments"}],
                "data_subjects": [{"key": "clients", "description": "The business's clients", "count": 120}],
                "data_categories": [{"key": "messages", "description": "Messages", "count": 5400}],
                "figures": {"clients": 120, "messages": 5400},
                "channels": [],
                "retention": {"set": False, "rules": [], "otherwise": "Kept until erased", "fixed": []},
                "access": [],
                "sub_processors": [],
                "security_measures": [{"key": "api", "description": "REST API behind a token per business"}],
            },
        ),
    ),
    Operation(
        "get",
        PATH,
        "getReference",
        "reference",
        "This reference",
        "The OpenAPI 3.1 document of the API; open without a token (it holds no business's data).",
        Answer(200, "The document", {"type": "object"}, None),
        public=True,
    ),
)

TAGS = (
    ("appointments", "The calendar: list, book, cancel."),
    ("availability", "The free starts the bot would offer."),
    ("clients", "Client records, export and erasure."),
    ("conversations", "The inbox: read, take over, reply, hand back."),
    ("practitioners", "Who clients book with, and their time off."),
    ("records", "What the business must be able to show: its audit log and records of processing."),
    ("reference", "This document."),
)

INTRO = f"""\
Jola's REST API lets a clinic's other systems read and change its calendar, inbox and client records.
Every route answers JSON, errors included.

**Authentication.** Each business has its own token (`api_token` in the config); send it as
`Authorization: Bearer <token>`. Everything you read or change is that business's. A missing or wrong
token is 401, on every path under `/api/v1` (so an unknown path without a token is 401, not 404). This
reference (`GET {PATH}`) is the one route open without a token.

**Times** are ISO 8601 with the business's UTC offset (`2026-11-26T10:00:00+01:00`). Where a route takes a
time, a date means local midnight and a date-time without an offset is local time.

**Errors** all have one shape: `{{"error": "<what is wrong, in words>", "code": "<what is wrong, for a
program>"}}`, sometimes with details beside them (a 409 says what is in the way). `code` follows the HTTP
status: {", ".join(f"{status} `{code}`" for status, code in sorted(ERROR_CODES.items()))}. An unknown path
is 404 and a method a path does not take is 405 (with `Allow`), in the same shape. Bad input is always a
4xx naming what is wrong, never a 5xx.

**Limits.** A request body is at most {MAX_BODY} bytes of plain (not compressed) JSON. Requests are
limited per token and per client address, and many wrong tokens from one address block it for a while
(the `[api]` section of the config); over a limit the answer is 429 with `Retry-After` and `retry_after`
in seconds. Answers are not cached (`Cache-Control: no-store`).
"""


@functools.cache
def document() -> dict[str, Any]:
    """The whole document (built once; treat it as read-only)."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation.as_json()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jola REST API",
            "version": _version(),
            "summary": "A clinic's calendar, inbox and client records, for its other systems.",
            "description": INTRO,
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": "/", "description": "This Jola"}],
        "security": [{"bearer": []}],
        "tags": [{"name": name, "description": description} for name, description in TAGS],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The business's `api_token` from the config",
                }
            },
            "schemas": SCHEMAS,
            "responses": _error_responses(),
        },
    }


def _version() -> str:
    try:
        return metadata.version("jola")
    except metadata.PackageNotFoundError:
        return "0"


@functools.cache
def _body() -> bytes:
    return json.dumps(document(), ensure_ascii=False).encode()


@routes.get(PATH)
async def serve(request: web.Request) -> web.Response:
    return web.Response(body=_body(), content_type="application/json", charset="utf-8")
