"""The exception tree. Each error carries the exit code it ends the run with and says what to do."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The same codes everywhere: CLI, drills, the alert receiver's records."""

    OK = 0  # verified, or the plan shown
    FAILED = 1  # remediation failed or could not be verified
    BAD_INPUT = 2  # nothing ran
    ESCALATED = 3  # handed to humans
    REFUSED = 4  # refused by a guard or a gate


class JejuPlayError(Exception):
    """Base of every error a user may see. The message must say what to do next."""

    exit_code: ExitCode = ExitCode.FAILED


class BadInput(JejuPlayError):
    """The command, the catalog or an inventory is wrong; nothing was run."""

    exit_code = ExitCode.BAD_INPUT


class UnknownIncident(BadInput):
    pass


class UnknownEnvironment(BadInput):
    pass


class InvalidInventory(BadInput):
    pass


class InvalidCatalog(BadInput):
    pass


class Refused(JejuPlayError):
    """A guard said no: a freeze, a held lock, a production confirmation missing, a gate refused."""

    exit_code = ExitCode.REFUSED


class LabError(JejuPlayError):
    """The local lab could not start, answer or stop."""

    exit_code = ExitCode.FAILED
