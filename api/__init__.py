"""The HTTP front door: the Starlette app, health endpoints and (later) OAuth callbacks."""
