"""Use cases, one package per bounded context (incidents, dispatch, claims, monitoring,
directory, reporting); each use case is one function that loads, changes, writes audit rows
and commits once. wiring.py binds the workflows' facts and side effects to them."""
