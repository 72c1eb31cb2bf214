//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the JSON API,
//! maintained by hand.
//!
//! Each operation is one entry of [`operations`]: (method, path, operation
//! object). Adding an endpoint to [`super::endpoints`] without adding it
//! here (or the reverse) fails the `document_covers_every_route` test
//! below. Schemas live in [`schemas`]; shared error responses are
//! referenced with [`errors`] (`400`, `401`, `403`, `404`, `409`, `503`:
//! every error body is `{"error": "message"}`).

use std::sync::LazyLock;

use axum::Json;
use concierge_core::country::EvidenceKind;
use concierge_core::ticket::{Priority, TicketStatus};
use serde_json::{Map, Value, json};

use crate::limits::{MAX_NOTE, MAX_REASON, MAX_REPLY};

/// The document, built once.
static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

/// `GET /api/v1/openapi.json` (no authentication).
pub(crate) async fn serve() -> Json<Value> {
    Json(DOCUMENT.clone())
}

/// The whole OpenAPI document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, op) in operations() {
        let entry = paths
            .entry(path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(method.to_owned(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Concierge API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The caseworkers' JSON API. Every request acts as the user its bearer \
                token belongs to (`concierge token create --name N --user EMAIL`) and gets \
                exactly that user's access: admins and coordinators every case; caseworkers \
                their own cases and the unassigned cases of the countries they cover. A case \
                the caller may not see answers 404, never 403. Views and changes are written \
                to the audit log as that user."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearerAuth": [] }],
        "tags": [
            { "name": "tickets", "description": "Cases and their threads." },
            { "name": "volunteers", "description": "Caseworkers' volunteer records." },
            { "name": "resources", "description": "The public resource hub." },
            { "name": "meta", "description": "This document." }
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`cct_…`) from `concierge token create --user EMAIL`."
                }
            },
            "responses": error_responses(),
            "schemas": schemas(),
        }
    })
}

/// A `$ref` to a schema in `components/schemas`.
pub(crate) fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A JSON response with this description and schema.
pub(crate) fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// A required JSON request body of this schema.
pub(crate) fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

/// An optional query parameter.
pub(crate) fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

/// A path parameter.
pub(crate) fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

/// The `{reference}` path parameter.
fn reference_param() -> Value {
    path_param(
        "reference",
        "A case reference, e.g. `C-7K2M9X` (case-insensitive).",
        json!({ "type": "string", "examples": ["C-7K2M9X"] }),
    )
}

/// The shared error responses, by status code: `errors(&[401, 404])`.
/// Every operation also gets `503` (database unavailable; retry).
pub(crate) fn errors(codes: &[u16]) -> Vec<(String, Value)> {
    codes
        .iter()
        .chain(std::iter::once(&503))
        .map(|code| {
            let name = match code {
                400 => "BadRequest".to_owned(),
                401 => "Unauthorized".to_owned(),
                403 => "Forbidden".to_owned(),
                404 => "NotFound".to_owned(),
                409 => "Conflict".to_owned(),
                413 => "TooLarge".to_owned(),
                503 => "Unavailable".to_owned(),
                // A dangling reference: `document_is_well_formed` fails
                // until the response is added to `error_responses`.
                other => format!("Status{other}"),
            };
            (
                code.to_string(),
                json!({ "$ref": format!("#/components/responses/{name}") }),
            )
        })
        .collect()
}

/// Responses: the successful ones given, then the errors.
pub(crate) fn responses(ok: &[(&str, Value)], error_codes: &[u16]) -> Value {
    let mut map = Map::new();
    for (code, v) in ok {
        map.insert((*code).to_owned(), v.clone());
    }
    for (code, v) in errors(error_codes) {
        map.insert(code, v);
    }
    Value::Object(map)
}

fn error_responses() -> Value {
    let e = |d: &str| json_response(d, schema("Error"));
    let mut unauthorized = e(
        "No bearer token, or it is unknown, revoked, not tied to a user, \
         or its user is disabled (`WWW-Authenticate: Bearer`).",
    );
    unauthorized["headers"] = json!({ "WWW-Authenticate": { "schema": { "type": "string" } } });
    let mut unavailable = e("The database is unavailable; retry (`Retry-After`).");
    unavailable["headers"] = json!({ "Retry-After": { "schema": { "type": "integer" } } });
    json!({
        "BadRequest": e("The request is not valid (query, path or body); the message says why."),
        "Unauthorized": unauthorized,
        "Forbidden": e("The caller may see this but not do this (e.g. a colleague's \
            unassigned-country case they may only read, or an admin-only action)."),
        "NotFound": e("No such thing, or one the caller may not see."),
        "Conflict": e("Refused in the current state (a status transition the state machine \
            forbids, a closed case, a duplicate)."),
        "TooLarge": e("The body is larger than allowed."),
        "Unavailable": unavailable,
    })
}

/// Every operation of the API: (method, path, OpenAPI operation object).
/// One entry per route of [`super::endpoints`].
pub(crate) fn operations() -> Vec<(&'static str, &'static str, Value)> {
    let mut ops = core_operations();
    ops.extend(casework_operations());
    ops
}

/// The operations of the tickets, volunteers and resources modules and of
/// this document.
fn core_operations() -> Vec<(&'static str, &'static str, Value)> {
    let statuses: Vec<&str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
    let open_statuses: Vec<&str> = std::iter::once("open")
        .chain(statuses.iter().copied())
        .collect();
    vec![
        (
            "get",
            "/api/v1/openapi.json",
            json!({
                "tags": ["meta"],
                "operationId": "openapi",
                "summary": "This OpenAPI document",
                "security": [],
                "responses": {
                    "200": json_response("The OpenAPI 3.1 document.", json!({ "type": "object" }))
                }
            }),
        ),
        (
            "get",
            "/api/v1/resources",
            json!({
                "tags": ["resources"],
                "operationId": "listResources",
                "summary": "The resource hub for one country",
                "description": "Any API user. The country's entries first (crisis lines first), \
                    then the global ones; every active entry when no country is given.",
                "parameters": [
                    query("country", "ISO 3166 alpha-2 code.", json!({ "type": "string", "examples": ["BR"] })),
                    query("lang", "ISO 639-1 language for descriptions (falls back to English).",
                        json!({ "type": "string", "examples": ["pt"] })),
                ],
                "responses": responses(&[("200", json_response("The entries.", schema("ResourceList")))], &[400, 401]),
            }),
        ),
        (
            "get",
            "/api/v1/tickets",
            json!({
                "tags": ["tickets"],
                "operationId": "listTickets",
                "summary": "Cases the caller may see (the dashboard queue)",
                "description": "Filtered by the caller's access: a caseworker gets their own cases \
                    and the unassigned cases of the countries they cover, whatever the filters say. \
                    The same filters, search and orders as the dashboard queue; pages are keyset \
                    cursors: pass the previous page's `next` as `after`.",
                "parameters": [
                    query("status", "A status, or `open` (neither resolved nor closed).",
                        json!({ "type": "string", "enum": open_statuses })),
                    query("country", "ISO 3166 alpha-2 code.", json!({ "type": "string", "pattern": "^[A-Za-z]{2}$" })),
                    query("assignee", "The assignee's e-mail address, `none` for unassigned cases, or `me`.", json!({ "type": "string" })),
                    query("priority", "Priority.", json!({ "type": "string", "enum": ["low", "normal", "high", "urgent"] })),
                    query("language", "ISO 639-1 language of the case.", json!({ "type": "string" })),
                    query("breached", "`1`: only cases that missed their first-response target.",
                        json!({ "type": "string", "enum": ["0", "1", "true", "false"] })),
                    query("q", "Free text: a reference, a requester's address, or words searched (Postgres \
                        full text, websearch syntax) in subjects and bodies (at most 500 bytes).",
                        json!({ "type": "string", "maxLength": 500 })),
                    query("sort", "Order.", json!({ "type": "string", "enum": ["updated", "oldest", "created", "due"], "default": "updated" })),
                    query("after", "Cursor: the `next` of the previous page.", json!({ "type": "string" })),
                    query("per_page", "Items per page.",
                        json!({ "type": "integer", "minimum": 1, "maximum": 200, "default": 50 })),
                ],
                "responses": responses(&[("200", json_response("A page of cases.", schema("TicketPage")))], &[400, 401]),
            }),
        ),
        (
            "get",
            "/api/v1/tickets/{reference}",
            json!({
                "tags": ["tickets"],
                "operationId": "getTicket",
                "summary": "A case with its thread, assignments and deliveries",
                "description": "Audited as `case.view`.",
                "parameters": [reference_param()],
                "responses": responses(&[("200", json_response("The case.", schema("TicketDetail")))], &[401, 404]),
            }),
        ),
        (
            "patch",
            "/api/v1/tickets/{reference}",
            json!({
                "tags": ["tickets"],
                "operationId": "updateTicket",
                "summary": "Change a case's status, priority or country",
                "description": "Needs the right to change the case (its caseworker, a coordinator or \
                    an admin). Setting the country (which reroutes the case) or returning an \
                    assigned case to `new` (the pool) takes it off its caseworker and needs a \
                    coordinator or an admin. Each changed field is audited (`case.status`, \
                    `case.priority`, `case.country`).",
                "parameters": [reference_param()],
                "requestBody": json_body(schema("TicketPatch")),
                "responses": responses(&[("200", json_response("The case after the change.", schema("TicketDetail")))],
                    &[400, 401, 403, 404, 409]),
            }),
        ),
        (
            "post",
            "/api/v1/tickets/{reference}/replies",
            json!({
                "tags": ["tickets"],
                "operationId": "replyToTicket",
                "summary": "Send a reply to the requester",
                "description": "Queued in the outbox (201 once stored). Needs the right to change \
                    the case. Audited as `case.reply`.",
                "parameters": [reference_param()],
                "requestBody": json_body(schema("NewReply")),
                "responses": responses(&[("201", json_response("Queued.", json!({
                    "type": "object",
                    "required": ["message_id"],
                    "properties": { "message_id": { "type": "string", "description": "The reply's Message-ID." } }
                })))], &[400, 401, 403, 404, 409]),
            }),
        ),
        (
            "get",
            "/api/v1/volunteers",
            json!({
                "tags": ["volunteers"],
                "operationId": "listVolunteers",
                "summary": "Every volunteer with their current load",
                "description": "Admins and coordinators.",
                "responses": responses(&[("200", json_response("The volunteers.",
                    json!({ "type": "array", "items": schema("Volunteer") })))], &[401, 403]),
            }),
        ),
        (
            "post",
            "/api/v1/volunteers",
            json!({
                "tags": ["volunteers"],
                "operationId": "createVolunteer",
                "summary": "Add a volunteer",
                "description": "Admins. Waiting cases they could take are rerouted. Audited as \
                    `volunteer.create`.",
                "requestBody": json_body(schema("NewVolunteer")),
                "responses": responses(&[("201", json_response("Created.", json!({
                    "type": "object",
                    "required": ["id", "email"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "email": { "type": "string", "format": "email" }
                    }
                })))], &[400, 401, 403, 409]),
            }),
        ),
        (
            "patch",
            "/api/v1/volunteers/{email}",
            json!({
                "tags": ["volunteers"],
                "operationId": "updateVolunteer",
                "summary": "Change a volunteer",
                "description": "Admins. Absent fields stay as they are. Audited as `volunteer.update`.",
                "parameters": [path_param("email", "The volunteer's address.",
                    json!({ "type": "string", "format": "email" }))],
                "requestBody": json_body(schema("VolunteerPatch")),
                "responses": responses(&[("200", json_response("Updated.", json!({
                    "type": "object",
                    "required": ["updated"],
                    "properties": { "updated": { "type": "string", "format": "email" } }
                })))], &[400, 401, 403, 404]),
            }),
        ),
    ]
}

/// Nullable `type` (OpenAPI 3.1 is JSON Schema 2020-12).
/// The operations of the notes, assignment and attachment routes
/// ([`super::casework`]).
fn casework_operations() -> Vec<(&'static str, &'static str, Value)> {
    let reference = path_param(
        "reference",
        "A case reference, e.g. `C-7K2M9X` (case-insensitive).",
        json!({ "type": "string", "examples": ["C-7K2M9X"] }),
    );
    let time = json!({ "type": "string", "format": "date-time" });
    let note = json!({
        "type": "object",
        "required": ["id", "author_email", "author_name", "text", "created_at"],
        "properties": {
            "id": { "type": "string", "format": "uuid" },
            "author_email": { "type": "string" },
            "author_name": { "type": "string" },
            "text": { "type": "string" },
            "created_at": time,
        }
    });
    vec![
        (
            "get",
            "/api/v1/tickets/{reference}/notes",
            json!({
                "tags": ["tickets"],
                "operationId": "listNotes",
                "summary": "A case's internal notes, oldest first",
                "description": "Notes are never mailed. Anyone who may see the case. Audited as \
                    `case.view` with `\"part\": \"notes\"`.",
                "parameters": [reference],
                "responses": responses(&[("200", json_response("The notes.",
                    json!({ "type": "array", "items": note })))], &[401, 404]),
            }),
        ),
        (
            "post",
            "/api/v1/tickets/{reference}/notes",
            json!({
                "tags": ["tickets"],
                "operationId": "addNote",
                "summary": "Add an internal note (never mailed)",
                "description": "Needs the right to change the case. Written as the token's user. \
                    Audited as `case.note`.",
                "parameters": [reference],
                "requestBody": json_body(json!({
                    "type": "object",
                    "required": ["text"],
                    "additionalProperties": false,
                    "properties": { "text": { "type": "string", "minLength": 1, "maxLength": MAX_NOTE } }
                })),
                "responses": responses(&[("201", json_response("The note.", note))],
                    &[400, 401, 403, 404]),
            }),
        ),
        (
            "post",
            "/api/v1/tickets/{reference}/assignment",
            json!({
                "tags": ["tickets"],
                "operationId": "changeAssignment",
                "summary": "Take, assign, reassign or unassign a case",
                "description": "A caseworker sends their own address to take an unassigned case \
                    of a country they cover, within their capacity (`case.take`). A coordinator \
                    or an admin sends any active volunteer's address and a reason to assign or \
                    reassign (`case.assign`; over the volunteer's capacity only with \
                    `allow_over_capacity`), or `null` and a reason to send the case back to \
                    routing (`case.unassign`).",
                "parameters": [reference],
                "requestBody": json_body(json!({
                    "type": "object",
                    "required": ["volunteer"],
                    "additionalProperties": false,
                    "properties": {
                        "volunteer": { "type": ["string", "null"],
                            "description": "The volunteer's address; null unassigns." },
                        "reason": { "type": "string", "maxLength": MAX_REASON,
                            "description": "Required to assign or unassign; kept in the history." },
                        "allow_over_capacity": { "type": "boolean", "default": false }
                    }
                })),
                "responses": responses(&[("200", json_response("Who holds the case now.", json!({
                    "type": "object",
                    "required": ["reference", "assignee"],
                    "properties": {
                        "reference": { "type": "string" },
                        "assignee": { "type": ["string", "null"] },
                        "over_capacity": { "type": "boolean" }
                    }
                })))], &[400, 401, 403, 404, 409]),
            }),
        ),
        (
            "get",
            "/api/v1/tickets/{reference}/attachments/{id}",
            json!({
                "tags": ["tickets"],
                "operationId": "downloadAttachment",
                "summary": "An attachment's bytes",
                "description": "Always `application/octet-stream` with `Content-Disposition: \
                    attachment` and a sanitised file name (RFC 6266), `nosniff` and a sandboxing \
                    CSP. 404 when the attachment belongs to another case. Audited as \
                    `case.attachment`.",
                "parameters": [reference, path_param("id", "The attachment's id (from the case's messages).",
                    json!({ "type": "string", "format": "uuid" }))],
                "responses": responses(&[("200", json!({
                    "description": "The bytes.",
                    "headers": { "Content-Disposition": { "schema": { "type": "string" } } },
                    "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } }
                }))], &[401, 404]),
            }),
        ),
    ]
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

fn nullable_time() -> Value {
    json!({ "type": ["string", "null"], "format": "date-time" })
}

fn strings() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

/// `components/schemas`.
pub(crate) fn schemas() -> Value {
    let statuses: Vec<&str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
    let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
    let evidence_kinds: Vec<&str> = EvidenceKind::ALL.iter().map(|k| k.as_str()).collect();
    let time = json!({ "type": "string", "format": "date-time" });
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": { "type": "string", "description": "What went wrong, for a person." } }
        },
        "Requester": {
            "type": "object",
            "required": ["email"],
            "properties": { "email": { "type": "string" }, "name": nullable("string") }
        },
        "TicketSummary": {
            "type": "object",
            "required": ["reference", "subject", "status", "priority", "routing_state",
                         "message_count", "created_at", "updated_at"],
            "properties": {
                "reference": { "type": "string", "examples": ["C-7K2M9X"] },
                "subject": { "type": "string" },
                "status": { "type": "string", "enum": statuses },
                "priority": { "type": "string", "enum": priorities },
                "country": nullable("string"),
                "country_source": nullable("string"),
                "country_confidence": { "type": ["number", "null"], "minimum": 0, "maximum": 1 },
                "language": nullable("string"),
                "requester": { "oneOf": [schema("Requester"), { "type": "null" }] },
                "assignee": { "type": ["string", "null"], "description": "The caseworker's address." },
                "assignment_reason": nullable("string"),
                "routing_state": { "type": "string", "enum": ["pending", "assigned", "waiting", "triage"] },
                "country_suggestion": {
                    "type": ["string", "null"], "pattern": "^[A-Z]{2}$",
                    "description": "When the country is unknown: the best guess (ISO 3166-1 alpha-2), below the confidence threshold. The acknowledgement carried its crisis lines with the international ones."
                },
                "country_suggestion_confidence": { "type": ["number", "null"], "minimum": 0, "maximum": 1 },
                "first_response_due_at": nullable_time(),
                "first_responded_at": nullable_time(),
                "sla_breached_at": nullable_time(),
                "message_count": { "type": "integer" },
                "created_at": time,
                "updated_at": time,
            }
        },
        "TicketPage": {
            "type": "object",
            "required": ["items", "next"],
            "properties": {
                "items": { "type": "array", "items": schema("TicketListItem") },
                "next": { "type": ["string", "null"], "description": "Cursor of the next page (`after`); null on the last page." }
            }
        },
        "TicketListItem": {
            "allOf": [
                schema("TicketSummary"),
                {
                    "type": "object",
                    "required": ["unread"],
                    "properties": {
                        "unread": { "type": "boolean", "description": "Changed since the token's user last opened it." }
                    }
                }
            ]
        },
        "Attachment": {
            "type": "object",
            "required": ["id", "filename", "content_type", "size", "sha256", "inline"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "filename": { "type": "string" },
                "content_type": { "type": "string" },
                "size": { "type": "integer" },
                "sha256": { "type": "string" },
                "inline": { "type": "boolean" }
            }
        },
        "Message": {
            "type": "object",
            "required": ["direction", "class", "subject", "text", "created_at", "attachments"],
            "properties": {
                "message_id": nullable("string"),
                "direction": { "type": "string", "enum": ["inbound", "outbound", "note"] },
                "class": { "type": "string", "enum": ["human", "auto_reply", "bounce", "loop"] },
                "from": nullable("string"),
                "from_name": nullable("string"),
                "subject": { "type": "string" },
                "text": { "type": "string", "description": "Plain text (HTML bodies are not served)." },
                "sent_at": nullable_time(),
                "created_at": time,
                "attachments": { "type": "array", "items": schema("Attachment") }
            }
        },
        "Assignment": {
            "type": "object",
            "required": ["volunteer", "reason", "assigned_by", "assigned_at"],
            "properties": {
                "volunteer": { "type": "string" },
                "reason": { "type": "string" },
                "assigned_by": { "type": "string" },
                "assigned_at": time,
                "ended_at": nullable_time(),
                "ended_reason": nullable("string")
            }
        },
        "Delivery": {
            "type": "object",
            "required": ["kind", "message_id", "recipients", "status", "attempts", "created_at"],
            "properties": {
                "kind": { "type": "string" },
                "message_id": { "type": "string" },
                "recipients": strings(),
                "status": { "type": "string", "enum": ["pending", "sending", "sent", "failed", "bounced"] },
                "attempts": { "type": "integer" },
                "last_error": nullable("string"),
                "created_at": time,
                "sent_at": nullable_time()
            }
        },
        "TicketDetail": {
            "allOf": [
                schema("TicketSummary"),
                {
                    "type": "object",
                    "required": ["assignments", "deliveries", "country_evidence", "messages"],
                    "properties": {
                        "assignments": { "type": "array", "items": schema("Assignment") },
                        "country_evidence": {
                            "type": "array", "items": schema("CountryEvidence"),
                            "description": "Why the case went where it went: every piece of evidence the country inference found when the case was opened, strongest first (kept when a person sets the country)."
                        },
                        "deliveries": { "type": "array", "items": schema("Delivery") },
                        "messages": { "type": "array", "items": schema("Message") }
                    }
                }
            ]
        },
        "CountryEvidence": {
            "type": "object",
            "required": ["kind", "country", "text", "weight"],
            "properties": {
                "kind": { "type": "string", "enum": evidence_kinds },
                "country": { "type": "string", "pattern": "^[A-Z]{2}$" },
                "text": { "type": "string", "description": "The words, number, header or value it came from (at most 120 characters; written by the sender)." },
                "weight": { "type": "number", "description": "Its contribution to the country's score; negative for counter-evidence (places left, tour stops)." },
                "note": { "type": "string", "description": "A word of explanation, e.g. \"tour stop: not where they need care\"." }
            }
        },
        "TicketPatch": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "status": { "type": "string", "enum": statuses, "description": "Through the state machine (409 when refused)." },
                "priority": { "type": "string", "enum": priorities, "description": "Moves the first-response due time." },
                "country": { "type": "string", "pattern": "^[A-Za-z]{2}$", "description": "Set by a person: reroutes the case." }
            }
        },
        "NewReply": {
            "type": "object",
            "additionalProperties": false,
            "required": ["text"],
            "properties": {
                "text": { "type": "string", "minLength": 1, "maxLength": MAX_REPLY },
                "author": { "type": "string", "maxLength": 200, "description": "Shown on the thread; defaults to the token user's address." }
            }
        },
        "Volunteer": {
            "type": "object",
            "required": ["id", "email", "name", "countries", "languages", "capacity", "active_cases", "active"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "email": { "type": "string" },
                "name": { "type": "string" },
                "countries": { "type": "array", "items": { "type": "string" }, "description": "ISO 3166 alpha-2; `*` = the global pool." },
                "languages": strings(),
                "capacity": { "type": "integer" },
                "active_cases": { "type": "integer" },
                "active": { "type": "boolean" },
                "paused_until": nullable_time(),
                "last_assigned_at": nullable_time()
            }
        },
        "NewVolunteer": {
            "type": "object",
            "additionalProperties": false,
            "required": ["email", "name", "countries", "capacity"],
            "properties": {
                "email": { "type": "string", "format": "email" },
                "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                "countries": { "type": "array", "items": { "type": "string" }, "description": "ISO 3166 alpha-2 codes or `*`." },
                "languages": { "type": "array", "items": { "type": "string" }, "default": [] },
                "capacity": { "type": "integer", "minimum": 0, "maximum": 1000 }
            }
        },
        "VolunteerPatch": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string" },
                "countries": strings(),
                "languages": strings(),
                "capacity": { "type": "integer", "minimum": 0, "maximum": 1000 },
                "active": { "type": "boolean" },
                "paused_until": { "type": ["string", "null"], "format": "date-time", "description": "Pause until then; null resumes." }
            }
        },
        "Resource": {
            "type": "object",
            "required": ["id", "name", "kind", "countries", "languages", "phone", "sms", "cost",
                         "verification", "source", "last_verified", "global"],
            "properties": {
                "id": { "type": "string" },
                "name": { "type": "string" },
                "kind": { "type": "string", "enum": ["crisis_line", "peer_support", "advocacy", "financial_aid", "therapy_fund"] },
                "countries": strings(),
                "languages": strings(),
                "phone": strings(),
                "sms": strings(),
                "chat": nullable("string"),
                "web": nullable("string"),
                "email": nullable("string"),
                "hours": nullable("string"),
                "cost": { "type": "string" },
                "verification": { "type": "string", "enum": ["sourced", "unverified", "conflicting"] },
                "source": { "type": "string" },
                "last_verified": { "type": "string", "format": "date" },
                "notes": nullable("string"),
                "description": nullable("string"),
                "description_lang": nullable("string"),
                "global": { "type": "boolean" }
            }
        },
        "ResourceList": {
            "type": "object",
            "required": ["items"],
            "properties": {
                "country": nullable("string"),
                "lang": nullable("string"),
                "items": { "type": "array", "items": schema("Resource") }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `$ref` in `v`.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn document_covers_every_route() {
        let routed: BTreeSet<(String, String)> = super::super::endpoints()
            .iter()
            .map(|e| (e.method.as_str().to_ascii_lowercase(), e.path.to_owned()))
            .collect();
        let documented: BTreeSet<(String, String)> = operations()
            .iter()
            .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
        assert_eq!(
            operations().len(),
            documented.len(),
            "an operation is documented twice"
        );
        // Every route is under /api/v1, so the document is the whole API.
        assert!(routed.iter().all(|(_, p)| p.starts_with("/api/v1/")));
    }

    #[test]
    fn country_evidence_schema_matches_what_is_served() {
        use concierge_core::country::EvidenceItem;
        let schema = &schemas()["CountryEvidence"];
        let props = schema["properties"].as_object().unwrap();
        for kind in EvidenceKind::ALL {
            let item = EvidenceItem {
                kind,
                country: "GB".parse().unwrap(),
                text: "Manchester".into(),
                weight: -0.5,
                note: Some("a note".into()),
            };
            let v = serde_json::to_value(&item).unwrap();
            let served = v.as_object().unwrap();
            for key in served.keys() {
                assert!(props.contains_key(key), "{key} served but not documented");
            }
            for key in schema["required"].as_array().unwrap() {
                assert!(served.contains_key(key.as_str().unwrap()), "{key} required");
            }
            let kinds = props["kind"]["enum"].as_array().unwrap();
            assert!(kinds.contains(&v["kind"]), "{} not in the enum", v["kind"]);
        }
        let detail = serde_json::to_string(&schemas()["TicketDetail"]).unwrap();
        assert!(detail.contains("country_evidence"));
    }

    #[test]
    fn document_is_well_formed() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
            "bearer"
        );
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
        let mut operation_ids = BTreeSet::new();
        for (method, path, op) in operations() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(
                operation_ids.insert(id.clone()),
                "duplicate operationId {id}"
            );
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
            // Path template parameters are declared, and only those.
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_template, declared, "{method} {path}: path parameters");
            // Authenticated operations can answer 401; public ones declare
            // `security: []`.
            let public = op["security"] == json!([]);
            assert_eq!(
                public,
                op["responses"].get("401").is_none(),
                "{method} {path}: 401 iff authenticated"
            );
        }
    }
}
