"""Monitoring alerts: parsing and normalizing what sensors send (generic JSON, Wazuh, CEF)."""
