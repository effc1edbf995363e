"""Tests of `gate serve`."""
