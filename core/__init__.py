"""Shared domain layer: settings, database, tables and rules.

Imports no other package of the project.
"""
