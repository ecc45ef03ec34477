"""Prepaid balances: top-ups, adjustments, and the ledger of every change."""

from schema.prepaid.mutations import PrepaidMutation

MUTATIONS = [PrepaidMutation]
