"""Starting enrollments and telling them what contacts did: what the API and the worker's
activities both do, so neither owns it. It talks to Temporal as a client, by workflow and signal
name, so that importing it never imports workflow code (which imports the activities)."""
