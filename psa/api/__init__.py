"""The REST API of the delivery core (API.md); other apps add their routers beside it."""
