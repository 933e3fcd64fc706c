"""Tests of demo/ (see ARCHITECTURE.md)."""
