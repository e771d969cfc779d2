"""Public checks: shipped to students and run by their self-check cells (one module per chapter)."""
