"""API errors shaped like the real API server's `Status` objects (404, 409, 422, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jeju_lab.kube_double.resources import ResourceType
from jeju_play.errors import LabError

Obj = dict[str, Any]


class ApiError(LabError):
    """A failed API call; `status()` is the body the API server would send."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(ApiError):
    pass


class AlreadyExists(ApiError):
    pass


class Conflict(ApiError):
    pass


class Invalid(ApiError):
    pass


class Forbidden(ApiError):
    pass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    reason: str = "FieldValueInvalid"


def _details(rt: ResourceType, name: str) -> Obj:
    return {"name": name, "group": rt.group, "kind": rt.plural}


def not_found(rt: ResourceType, name: str) -> NotFound:
    return NotFound(404, "NotFound", f'{rt.qualified_plural} "{name}" not found', _details(rt, name))


def already_exists(rt: ResourceType, name: str) -> AlreadyExists:
    return AlreadyExists(409, "AlreadyExists", f'{rt.qualified_plural} "{name}" already exists', _details(rt, name))


def conflict(rt: ResourceType, name: str) -> Conflict:
    message = (
        f'Operation cannot be fulfilled on {rt.qualified_plural} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return Conflict(409, "Conflict", message, _details(rt, name))


def invalid(rt: ResourceType, name: str, errors: list[FieldError]) -> Invalid:
    summary = ", ".join(f"{e.field}: {e.message}" for e in errors)
    message = f'{rt.qualified_kind} "{name}" is invalid: {summary}'
    details = {
        "name": name,
        "group": rt.group,
        "kind": rt.kind,
        "causes": [{"reason": e.reason, "message": e.message, "field": e.field} for e in errors],
    }
    return Invalid(422, "Invalid", message, details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}")


def path_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")


def forbidden(message: str, rt: ResourceType | None = None, name: str = "") -> Forbidden:
    return Forbidden(403, "Forbidden", message, _details(rt, name) if rt is not None else None)


def namespace_terminating(rt: ResourceType, name: str, namespace: str) -> Forbidden:
    message = (f'{rt.qualified_plural} "{name}" is forbidden: unable to create new content in namespace {namespace} '
               "because it is being terminated")
    return forbidden(message, rt, name)


def precondition_failed(rt: ResourceType, name: str, what: str, wanted: str, actual: str) -> Conflict:
    message = (f'Operation cannot be fulfilled on {rt.qualified_plural} "{name}": Precondition failed: '
               f"{what} in precondition: {wanted}, {what} in object meta: {actual}")
    return Conflict(409, "Conflict", message, _details(rt, name))


def apply_conflict(rt: ResourceType, name: str, conflicts: list[tuple[str, str]]) -> Conflict:
    """Server-side apply found fields owned by other managers: (manager, field) pairs."""
    described = "\n".join(f'- conflict with "{manager}": {field}' for manager, field in conflicts)
    count = len(conflicts)
    message = f"Apply failed with {count} conflict{'s' if count != 1 else ''}: " + (
        described.removeprefix("- ") if count == 1 else "\n" + described)
    details = {**_details(rt, name), "causes": [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{manager}"', "field": field}
        for manager, field in conflicts]}
    return Conflict(409, "Conflict", message, details)


def too_many_requests(message: str, cause: str) -> ApiError:
    """An eviction a PodDisruptionBudget refuses: 429, the budget's reason as the cause."""
    return ApiError(429, "TooManyRequests", message, {"causes": [{"reason": "DisruptionBudget", "message": cause}]})


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")
