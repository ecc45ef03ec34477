"""The ISP's number inventory: numbers, their lifecycle, imports and the summary."""

from schema.numbers.mutations import NumberMutation
from schema.numbers.queries import NumberQuery

QUERIES = [NumberQuery]
MUTATIONS = [NumberMutation]
