"""Small pandas re-computations of served planner figures, straight from the base tables.

Independent of the server's facts and SQL: tests compare what the API serves with these on
planted or simulated data. Helpers only (no tests here); never imported by product code.
"""
