"""Tests of profiling/ (see ARCHITECTURE.md)."""
