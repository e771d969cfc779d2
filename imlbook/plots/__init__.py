"""Plot helpers, one module per chapter (named after it). A plot helper takes values, never a model."""
