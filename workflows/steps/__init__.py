"""The enrollment workflow's step families, each in a module named for what it runs."""
