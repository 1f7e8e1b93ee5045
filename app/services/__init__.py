"""Use cases: each is one function that loads, changes, writes audit rows and commits once."""
