"""Subscribers (extensions) of a tenant."""

from schema.subscribers.mutations import SubscriberMutation
from schema.subscribers.queries import SubscriberQuery

QUERIES = [SubscriberQuery]
MUTATIONS = [SubscriberMutation]
