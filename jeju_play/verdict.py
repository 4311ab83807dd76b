"""The verdict of a run: its outcome, exit code and one message that says what was wrong, what was done and the
proof ("op-node crash-looped; rolled it; 3 new blocks in 3.4 s"), from what the event sink collected.
"""

from __future__ import annotations

from jeju_play.errors import ExitCode
from jeju_play.events import EventSink
from jeju_play.record import Summary, now_iso


def conclude(summary: Summary, sink: EventSink, rc: int, check: bool,
             unanswered_escalates_to: int | None = None) -> None:
    """unanswered_escalates_to: in a run nobody watches (an alert started it), a gate nobody answered in time is
    handed to that escalation level (exit 3) rather than a refusal (exit 4)."""
    learned = sink.learned
    summary.ended = now_iso()
    summary.cause = _brief_cause(learned.cause)
    summary.tried = list(learned.tried)
    summary.proof = learned.proof
    if sink.interrupted:
        summary.outcome, summary.exit_code = "interrupted", int(ExitCode.REFUSED)
        summary.message = "Interrupted by the operator; the steps that ran before are in the record."
    elif sink.refused is not None and unanswered_escalates_to and (sink.refused.get("answer") or {}).get("timed_out"):
        gate = " ".join(str(sink.refused.get("description")).split())
        waited = (sink.refused.get("answer") or {}).get("how", "")
        summary.outcome, summary.exit_code = "escalated", int(ExitCode.ESCALATED)
        summary.message = f"Escalated: nobody answered the gate '{gate}' ({waited}); nothing after it ran."
        summary.escalation = {"level": unanswered_escalates_to, "contact": None,
                              "advice": f"Answer it by running the incident by hand: jeju-play {summary.incident} "
                                        f"-i {summary.environment}",
                              "unanswered_gate": gate, "waited": waited}
    elif sink.refused is not None:
        summary.outcome, summary.exit_code = "refused", int(ExitCode.REFUSED)
        summary.message = f"Refused at gate: {' '.join(str(sink.refused.get('description')).split())}. " \
                          "Nothing after it ran."
        answer = sink.refused.get("answer") or {}
        if answer.get("who") == "jeju-play":  # a guard, not a human, refused it: say why
            summary.message += f" {answer.get('how', '')}"
    elif sink.escalated is not None:
        summary.outcome, summary.exit_code = "escalated", int(ExitCode.ESCALATED)
        summary.message = f"Escalated: {' '.join(str(sink.escalated.get('reason')).split())}"
        summary.escalation = {k: sink.escalated.get(k) for k in ("level", "contact", "advice")}
    elif rc != 0:
        summary.outcome, summary.exit_code = "failed", int(ExitCode.FAILED)
        # The failure that ended the run; one caught by a block's rescue is already restated by it.
        summary.message = sink.failures[-1] if sink.failures else f"ansible-playbook exited with {rc}"
    elif check:
        summary.outcome, summary.exit_code = "plan shown", int(ExitCode.OK)
        summary.message = "Check mode: diagnosis done, nothing changed." + _plan(learned.cause, learned.tried)
    else:
        summary.outcome, summary.exit_code = "verified", int(ExitCode.OK)
        summary.message = _story(learned.cause, learned.tried, learned.proof,
                                 verified="verify" in summary.phases)


def _brief_cause(cause: dict[str, object] | None) -> dict[str, object] | None:
    if not cause:
        return None
    return {key: cause.get(key) for key in ("cause", "cause_text", "healthy")}


def _plan(cause: dict[str, object] | None, tried: list[str]) -> str:
    if not cause:
        return ""
    text = f" Cause: {cause.get('cause_text')}."
    return text + (f" Would: {'; '.join(tried)}." if tried else "")


def _story(cause: dict[str, object] | None, tried: list[str], proof: str, verified: bool) -> str:
    """What was wrong; what was done; the proof."""
    if cause and cause.get("healthy"):
        return f"{cause.get('cause_text')}: nothing to do."
    parts = [str(cause.get("cause_text"))] if cause else []
    if tried:
        parts.append("; ".join(tried))
    if proof:
        parts.append(proof)
    if parts:
        return "; ".join(parts).rstrip(".") + "."
    return ("Playbook completed and its verify phase passed." if verified
            else "Playbook completed; the report is in the record.")
