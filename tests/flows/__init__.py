"""Tests of flows/ (see ARCHITECTURE.md)."""
