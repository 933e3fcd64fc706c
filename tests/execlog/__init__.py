"""Tests of execlog/ (see ARCHITECTURE.md)."""
