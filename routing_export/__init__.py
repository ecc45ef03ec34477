"""Routing export: desired state from core/ to Kamailio tables, then reload."""
