"""The embedded default's demo: synthetic BCFINSG landing files and the console summary of ``make run``.

May import: ``dcf.store``.
"""
