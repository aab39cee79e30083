"""The live check: one real request through litellm, retried and explained.

Built on tui.core only; litellm is imported when a check runs (or preloads), never at import.
"""
