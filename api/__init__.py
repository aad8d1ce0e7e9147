"""The HTTP API: stateless; reads PostgreSQL and talks to workflows through Temporal."""
