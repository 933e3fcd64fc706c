"""Tests of stream/ (see ARCHITECTURE.md)."""
