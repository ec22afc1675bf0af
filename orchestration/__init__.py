"""Orchestration: the ``storeflow`` command, the demo, evaluation and benchmarks.

This layer sits on top: it imports the kernel (``storeflow``) and every component (``edge``,
``server``, ``dashboard``, ``firmware_sim``); nothing imports it.
"""
