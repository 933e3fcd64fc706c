"""Tests of store/ (see ARCHITECTURE.md)."""
