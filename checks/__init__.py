"""Built-in checks, one per module. Each is a pure function of the snapshot and the options."""
