"""The guards of a run, in the order they hold: the security freeze, the cluster's identity, the content's review
(production), the remediation lock.

A run that may change things is refused (exit 4, before anything is recorded) while a security freeze stands,
unless its catalog entry is `allowed_while_frozen`; a cluster that is not the one the inventory names refuses it
(jeju_play.identity, recorded); on production, content that is not reviewed refuses it unless approved at an
extra gate (jeju_play.review, through the runner's `confirm_content`, recorded); it holds the environment's
remediation Lease while it runs (an incident that `takes_over_lock` takes it from a live holder instead of
waiting; a held Lease refuses the run, recorded); and every gate it reaches is refused when a freeze appeared
meanwhile. Check-mode runs change nothing: no freeze refuses them, their cluster is not asked who it is, their
content is recorded but never refused, and they take no lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from jeju_play import freeze, identity
from jeju_play.catalog import Incident
from jeju_play.environments import Environment
from jeju_play.errors import Refused
from jeju_play.gates import ApprovalPolicy, GuardFn
from jeju_play.lock import DeadHolder, RemediationLock


def refuse_if_frozen(env: Environment, incident: Incident, check: bool) -> str | None:
    """Raise Refused when a freeze blocks the incident; return a warning when the freeze could not be read."""
    if check or incident.allowed_while_frozen or not env.has_cluster:
        return None  # nothing a freeze blocks, or no cluster to hold one
    try:
        found = freeze.read(env)
    except freeze.FreezeUnreadable as exc:
        return f"{exc} Running anyway: its playbook cannot change that cluster either."
    if found is not None and found.active:
        raise Refused(found.refusal(incident.name))
    return None


def standing_guard(env: Environment, incident: Incident) -> GuardFn | None:
    """Why no gate of `incident` may be approved now (a freeze set during the run); None: nothing to watch."""
    if incident.allowed_while_frozen or not env.has_cluster:
        return None

    def reason() -> str | None:
        try:
            found = freeze.read(env)
        except freeze.FreezeUnreadable:
            return None  # the start of the run already warned; this run's playbook cannot reach it either
        return found.refusal(incident.name) if found is not None and found.active else None

    return reason


@dataclass
class Held:
    """What the lock let through: the approval policy that watches the freeze, and whom the lock was taken from."""

    policy: ApprovalPolicy
    lock_taken_from: str | None = None
    replaced_run: str | None = None  # the dead or expired holder's run id, whose record this run marks


@contextmanager
def held(env: Environment, incident: Incident, policy: ApprovalPolicy, check: bool, holder: str,
         confirm_content: Callable[[], None] | None = None, run_id: str = "",
         confirm_dead: Callable[[DeadHolder], bool] | None = None) -> Iterator[Held]:
    """Confirm the cluster and the content (each raises Refused), take the remediation lock (released on exit;
    Refused when another run holds it) and watch the freeze."""
    lock = None if check or not env.has_cluster else RemediationLock(
        env, holder=holder, take_over=incident.takes_over_lock, run_id=run_id, confirm_dead=confirm_dead)
    if lock is not None:
        identity.confirm_cluster(env)  # never the Lease, nor a change, on a cluster the inventory does not name
    if confirm_content is not None and not check:
        confirm_content()
    if lock is not None:
        lock.acquire()
    try:
        guarded = policy if check else replace(policy, guard=standing_guard(env, incident))
        yield Held(guarded, lock.taken_from if lock is not None else None,
                   lock.replaced_run if lock is not None else None)
    finally:
        if lock is not None:
            lock.release()
