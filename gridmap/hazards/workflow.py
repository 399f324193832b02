"""The closed loop as a state machine: who may do which action in which status.

reported → accepted → assigned → in_progress → feedback → verified → closed, with
``reject`` (a report refused, an assignment handed back, a feedback returned for
rework) and ``escalate`` (grid → community → street → district, 吹哨报到). A problem solved
on the spot (就地解决) is born closed; a manager who samples it may ``reopen`` it, back to
``reported`` at its level. ``supervise`` (督办) is a supervisor's note on an unfinished item
that changes no status. ``revisit`` (回访) records a resident reporter's answer to a verified
item: 不满意 sends it back to ``in_progress``; a reporter who left a phone must have answered
before it may close (see ``State``). ``whistle`` (吹哨, 分类归口交办) sends an item to the
departments that own its category in its area: it waits ``whistled`` while each of them 报到s and
feeds back, and moves on to ``feedback`` (the manager's verification) when the last one has
(gridmap.departments owns those steps and applies this transition; the generic action route does
not take ``whistle``). ``recall`` (撤回) takes a whistled item back from its departments while none
of them has 报到'd yet (``State.duty_reported``): back to the status it was whistled from, which the
departments' service restores. Pure: no database, no Flask; the service locks the row and applies the
decided transition.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR
from gridmap.errors import Conflict, Forbidden, Unprocessable
from gridmap.hazards.models import ON_THE_SPOT, OPEN_STATUSES
from gridmap.labels import label

ACTIONS = ("accept", "assign", "start", "whistle", "feedback", "verify", "reject", "close", "escalate", "reopen",
           "supervise", "revisit", "recall")
# Actions applied by another room (gridmap.departments), not by POST /hazards/<id>/actions.
DEPARTMENT_ACTIONS = ("whistle", "recall")
LOOP_ACTIONS = tuple(a for a in ACTIONS if a not in DEPARTMENT_ACTIONS)
LEVEL_ORDER = ("grid", "community", "street", "district")
# The longest scope code a supervisor may have to manage a hazard at this level: a
# community supervisor (12 digits) manages grid- and community-level hazards, a street
# supervisor (9) street-level ones, and higher levels may always step in (督办).
LEVEL_SCOPE_LENGTH = {"grid": 12, "community": 12, "street": 9, "district": 6}


MANAGER, ASSIGNEE, GRID_OWNER = "manager", "assignee", "grid_owner"
# Any supervisor (or admin) whose scope covers the item, whatever its level: may send 督办 notes.
OVERSEER = "overseer"
RESIDENT = "resident"
UNFINISHED = (*OPEN_STATUSES, "verified")
WHISTLED_FROM = ("accepted", "assigned", "in_progress")

# action → {from status: (to status, who may)}; escalate's target status is "reported" at the next level.
RULES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "accept": {"reported": ("accepted", (MANAGER,))},
    "assign": {"accepted": ("assigned", (MANAGER,)), "assigned": ("assigned", (MANAGER,))},
    "start": {"assigned": ("in_progress", (ASSIGNEE, MANAGER))},
    "whistle": {s: ("whistled", (MANAGER,)) for s in WHISTLED_FROM},
    # 撤回: to the status it was whistled from (the departments' service reads it from the whistle event)
    "recall": {"whistled": ("accepted", (MANAGER,))},
    "feedback": {"in_progress": ("feedback", (ASSIGNEE, MANAGER))},
    "verify": {"feedback": ("verified", (MANAGER,))},
    "close": {"verified": ("closed", (MANAGER,))},
    "reject": {
        "reported": ("rejected", (MANAGER,)),          # not a real problem / duplicate
        "assigned": ("accepted", (ASSIGNEE, MANAGER)),  # handed back: assign someone else
        "feedback": ("in_progress", (MANAGER,)),        # returned for rework
        "verified": ("in_progress", (MANAGER,)),
    },
    "escalate": {s: ("reported", (MANAGER, GRID_OWNER)) for s in ("reported", "accepted", "assigned", "in_progress")},
    "reopen": {"closed": ("reported", (MANAGER,))},  # only a hazard closed on the spot (ONLY_WHEN)
    "supervise": {s: (s, (OVERSEER,)) for s in UNFINISHED},  # a note; the status stays
    # 回访 by phone: any supervisor (community, street, district) or admin over the item; a resident
    # item only, once per verification. 不满意 reopens it: REVISIT_REOPENS_TO.
    "revisit": {"verified": ("verified", (OVERSEER,))},
}
REVISIT_REOPENS_TO = "in_progress"
NOTE_REQUIRED = ("reject", "escalate", "reopen", "supervise", "recall")
# Actions that write an event and change nothing of the hazard (not even its version).
NOTE_ONLY = ("supervise",)


@dataclass(frozen=True)
class Actor:
    role: str
    prefix: str
    user_id: int | None


@dataclass(frozen=True)
class State:
    status: str
    level: str
    grid_code: str
    assignee_id: int | None
    resolution: str | None = None
    # 回访: a resident's item (source), whether close waits for an answer (a phone was left), and
    # whether this verification has its answer.
    source: str = "staff"
    revisit_required: bool = False
    answered: bool = False
    # 吹哨: whether a department has 报到'd since the item was last whistled (it can no longer be recalled)
    duty_reported: bool = False

    @property
    def awaits_revisit(self) -> bool:
        return self.status == "verified" and self.source == RESIDENT and not self.answered


@dataclass(frozen=True)
class Decision:
    action: str
    from_status: str
    to_status: str
    from_level: str
    to_level: str


def next_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def capacities(actor: Actor, state: State) -> set[str]:
    """The capacities in which ``actor`` stands to this hazard."""
    held: set[str] = set()
    if actor.role == ADMIN and state.grid_code.startswith(actor.prefix):
        held.add(MANAGER)
    if (actor.role == SUPERVISOR and state.grid_code.startswith(actor.prefix)
            and len(actor.prefix) <= LEVEL_SCOPE_LENGTH[state.level]):
        held.add(MANAGER)
    if actor.role in (ADMIN, SUPERVISOR) and state.grid_code.startswith(actor.prefix):
        held.add(OVERSEER)
    if actor.user_id is not None and actor.user_id == state.assignee_id:
        held.add(ASSIGNEE)
    if actor.role == GRID_WORKER and actor.prefix == state.grid_code and state.level == "grid":
        held.add(GRID_OWNER)
    return held


def _possible(action: str, state: State) -> tuple[str, tuple[str, ...]] | None:
    rule = RULES[action].get(state.status)
    if rule is None or (action == "escalate" and next_level(state.level) is None):
        return None
    if (action == "reopen" and state.resolution != ON_THE_SPOT) or (action == "recall" and state.duty_reported):
        return None
    if (action == "revisit" and not state.awaits_revisit) or \
            (action == "close" and state.revisit_required and state.awaits_revisit):
        return None
    return rule


def allowed_actions(actor: Actor, state: State) -> list[str]:
    """Actions ``actor`` may take now, in the loop's order."""
    held = capacities(actor, state)
    allowed = []
    for action in ACTIONS:
        rule = _possible(action, state)
        if rule is not None and held & set(rule[1]):
            allowed.append(action)
    return allowed


def decide(actor: Actor, state: State, action: str, note: str = "") -> Decision:
    """The transition ``action`` makes, or the error that refuses it.

    Not possible in this status → 409 with ``details.allowed``; possible but not for
    this actor → 403 with ``details.allowed``.
    """
    allowed = allowed_actions(actor, state)
    details = {"allowed": allowed, "status": state.status, "level": state.level, "action": action}
    rule = _possible(action, state) if action in RULES else None
    if rule is None:
        if action == "escalate" and next_level(state.level) is None and state.status in RULES["escalate"]:
            raise Conflict("hazard_top_level", details=details)
        if action == "close" and state.status == "verified":
            raise Conflict("hazard_revisit_required", details=details)
        raise Conflict("hazard_action_not_allowed", details=details, status=label(state.status, "hazard_status"),
                       action=label(action, "hazard_action"))
    if action not in allowed:
        raise Forbidden("hazard_action_forbidden", details=details, action=label(action, "hazard_action"))
    if action in NOTE_REQUIRED and not note.strip():
        raise Unprocessable("hazard_note_required", details={"field": "note"}, action=label(action, "hazard_action"))
    to_level = next_level(state.level) if action == "escalate" else state.level
    return Decision(action, state.status, rule[0], state.level, to_level or state.level)
