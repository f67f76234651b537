"""Development tools for the CloudTrail check: a local AWS emulator, sample CloudTrail content and seeding.

Used by the tests, the demo and the benchmark. Not part of the wheel.
"""
