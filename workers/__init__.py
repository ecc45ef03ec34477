"""Background work: the broker, dramatiq actors, the worker and scheduler processes."""
