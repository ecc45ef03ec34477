"""Service plans, their service and rate decks, rate deck imports and price previews."""

from schema.service_plans.mutations import ServicePlanMutation
from schema.service_plans.queries import ServicePlanQuery

QUERIES = [ServicePlanQuery]
MUTATIONS = [ServicePlanMutation]
