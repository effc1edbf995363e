"""`gate serve`: the HTTP JSON API for Backstage scaffolder pre-publish checks."""
