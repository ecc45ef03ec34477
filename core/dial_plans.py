"""Dial plans: ordered rules that turn what users dial into E.164 numbers.

Every rule is checked by the dial-plan engine before it is stored, so a plan in
the database is always one the proxies will load (one invalid expression would
make their whole dialplan reload fail). Priorities are kept 0..n-1, tried in
ascending order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session

from core import scoping, validation
from core.catalogue import (
    OrderedChildren,
    create_named,
    delete_named,
    managed_object,
    record,
    update_named,
)
from core.dialplan_engine import SimulationResult, apply_rules, check_rule
from core.errors import ErrorCollector, not_found
from core.models import DialPlan, DialPlanRule, Tenant
from core.viewer import Viewer

RULES = OrderedChildren[DialPlanRule](parent_model=DialPlan,
                                      parent=DialPlanRule.dial_plan_id,
                                      number=DialPlanRule.priority)


# Dial plans ------------------------------------------------------------------------------------


def create_dial_plan(session: Session, viewer: Viewer, isp_id: uuid.UUID | None, *,
                     name: str, description: str = "") -> DialPlan:
    return create_named(session, viewer, DialPlan, isp_id, name=name, description=description)


def update_dial_plan(session: Session, viewer: Viewer, dial_plan_id: uuid.UUID, *,
                     name: str | None = None, description: str | None = None) -> DialPlan:
    return update_named(session, viewer, DialPlan, dial_plan_id, name=name,
                        description=description)


def delete_dial_plan(session: Session, viewer: Viewer, dial_plan_id: uuid.UUID) -> DialPlan:
    """Delete a dial plan no tenant uses; its rules go with it (ON DELETE CASCADE)."""
    return delete_named(session, viewer, DialPlan, dial_plan_id, used_by=Tenant.dial_plan_id)


# Rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleValues:
    """What was typed for a rule; None: not given (empty, or unchanged)."""

    description: str | None = None
    match_expression: str | None = None
    substitution_expression: str | None = None
    replacement: str | None = None

    def over(self, rule: DialPlanRule) -> RuleValues:
        """These values, with the rule's own where none was given."""
        return RuleValues(**{name: getattr(rule, name) if value is None else value
                             for name, value in vars(self).items()})

    def checked(self) -> dict[str, Any]:
        """The rule's columns, once the engine accepts all three expressions together."""
        errors = ErrorCollector()
        expressions = replace(self, match_expression=self.match_expression or "",
                              substitution_expression=self.substitution_expression or "",
                              replacement=self.replacement or "")
        errors.check(check_rule, expressions)
        description = errors.check(validation.bounded_text, self.description or "",
                                   ("description",), max_length=200)
        errors.raise_if_any()
        return {**vars(expressions), "description": description}


def ordered_rules(session: Session, dial_plan_id: uuid.UUID) -> list[DialPlanRule]:
    """A plan's rules in the order the proxies try them."""
    return RULES.children(session, dial_plan_id)


def create_rule(session: Session, viewer: Viewer, dial_plan_id: uuid.UUID, values: RuleValues,
                priority: int | None = None) -> DialPlanRule:
    """Add a rule after the plan's others, or at ``priority`` (0 is tried first)."""
    plan = managed_object(session, viewer, DialPlan, dial_plan_id, "dial plan", "dial_plan")
    columns = values.checked()
    rule = DialPlanRule(dial_plan_id=plan.id, priority=0, **columns)
    place = RULES.insert(session, rule, priority)
    record(session, viewer, "create", rule, plan.isp_id,
           {"dial_plan_id": plan.id, "priority": place, **columns})
    return rule


def update_rule(session: Session, viewer: Viewer, rule_id: uuid.UUID, values: RuleValues,
                priority: int | None = None) -> DialPlanRule:
    """Change what was given; the rule as a whole must still be valid."""
    rule, plan = RULES.managed(session, viewer, rule_id, "dial plan rule")
    changes = {key: value for key, value in values.over(rule).checked().items()
               if value != getattr(rule, key)}
    rule.sqlmodel_update(changes)
    session.add(rule)
    if priority is not None and priority != rule.priority:
        RULES.move(session, rule, priority)
        changes["priority"] = priority
    if changes:
        record(session, viewer, "update", rule, plan.isp_id, changes)
    return rule


def delete_rule(session: Session, viewer: Viewer, rule_id: uuid.UUID) -> DialPlanRule:
    """Delete a rule; the rules after it move up one place."""
    rule, plan = RULES.managed(session, viewer, rule_id, "dial plan rule")
    RULES.remove(session, rule)
    record(session, viewer, "delete", rule, plan.isp_id,
           {"dial_plan_id": plan.id, "match_expression": rule.match_expression})
    return rule


def reorder_rules(session: Session, viewer: Viewer, dial_plan_id: uuid.UUID,
                  rule_ids: Sequence[uuid.UUID | None]) -> DialPlan:
    """Set the order rules are tried in; ``rule_ids`` must list each of the plan's rules once.

    None stands for an id that named no rule at all.
    """
    plan = managed_object(session, viewer, DialPlan, dial_plan_id, "dial plan", "dial_plan")
    ordered = RULES.reorder(session, plan.id, rule_ids, "rules of this dial plan", "rules")
    record(session, viewer, "reorder_rules", plan, plan.isp_id,
           {"rules": [row.id for row in ordered]})
    return plan


def simulate(session: Session, viewer: Viewer, dial_plan_id: uuid.UUID, *, number: str,
             country_code: str, area_code: str = "") -> SimulationResult[DialPlanRule]:
    """What the proxies would make of ``number`` dialled by a caller with these codes.

    Reading is enough: a VIEWER may simulate.
    """
    plan = scoping.get_visible(session, viewer, DialPlan, dial_plan_id)
    if plan is None:
        raise not_found("dial plan", "dial_plan")
    return apply_rules(ordered_rules(session, plan.id), number.strip(), country_code.strip(),
                       area_code.strip())
