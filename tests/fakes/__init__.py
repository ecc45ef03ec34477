"""Wire-level fakes of the directory providers: real HTTP servers on 127.0.0.1 that speak
the provider's documented format, so the real client libraries are exercised end to end.

A fake follows the provider's API reference, never our adapters' code: a test passing
against it says the adapter speaks the provider's protocol, not that it agrees with
itself.

- ``google``: Google's OAuth 2.0 endpoints (consent, token, JWKS) and the Admin SDK
  Directory API (users, group members, push channels).
- ``microsoft``: Microsoft Entra ID (login) and Microsoft Graph.

Each runs as a context manager, records the requests it gets, answers injected errors
on demand, and has a pre-rendered mode for benchmarks (see each module's docstring).
"""
