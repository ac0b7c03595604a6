"""Domain verbs: one module per command, each a plain typed function."""
