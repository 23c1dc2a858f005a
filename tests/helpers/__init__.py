"""What the test modules share that is not a fixture: data builders, assertions, clients of the stack's services.

Fixtures live in the conftest.py next to the tests that use them; test modules import from here, never from a
conftest.py or from another test module.
"""
