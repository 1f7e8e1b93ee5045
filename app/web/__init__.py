"""The pages people use, one blueprint package per audience (public, desk, dispatch,
technician, customer, insurer, admin, reports, dashboard, devtools); each view parses, calls
one service and renders."""
