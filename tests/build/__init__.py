"""Tests of build/ (see ARCHITECTURE.md)."""
