"""hetflow."""
