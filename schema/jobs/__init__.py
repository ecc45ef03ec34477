"""Background jobs: reading, cancelling, following progress."""

from schema.jobs.queries import JobMutation, JobQuery, JobSubscription

QUERIES = [JobQuery]
MUTATIONS = [JobMutation]
SUBSCRIPTIONS = [JobSubscription]
