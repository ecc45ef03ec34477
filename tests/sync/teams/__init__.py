"""Tests of the Microsoft Entra ID adapter against the wire-level fake."""
