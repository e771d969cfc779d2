"""Helpers for the interpretable-ML workbook: data loaders, plots, small models."""
