"""Pure computations and vocabularies of the domain: no database, no request.

Payouts, the business calendar, phone numbers, file types, alert parsing, labels and
triage checklists; services and pages build on these, never the other way round."""
