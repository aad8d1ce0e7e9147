"""Records owned by PostgreSQL: tables, the engine, and the queries shared by routes and activities."""
