"""Test models of each chapter (one module per chapter, named after it): plain, picklable
objects that only predict. The checks hand them to a student's function."""
