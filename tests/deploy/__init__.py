"""Tests of deploy/ (see ARCHITECTURE.md)."""
