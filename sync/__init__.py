"""Directory synchronisation: one reconcile engine fed by provider adapters (google/, teams/)."""
