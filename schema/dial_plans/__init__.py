"""Dial plans, their rules, and simulating what they do to a dialled number."""

from schema.dial_plans.mutations import DialPlanMutation
from schema.dial_plans.queries import DialPlanQuery

QUERIES = [DialPlanQuery]
MUTATIONS = [DialPlanMutation]
