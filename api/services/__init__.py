"""Operations that span the database and Temporal, shared by routes."""
