"""One module per command: a plain function with explicit arguments returning an exit code."""
