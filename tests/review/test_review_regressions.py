"""Adversarial review of the fixes made during the review: what a fix broke.

Each xfail(strict=True, raises=AssertionError) is one confirmed defect.
"""

from __future__ import annotations
