"""The people's web app: server-rendered pages for reps, designers and managers, served by the
API's process under /app and calling the same services as the API's routes."""
